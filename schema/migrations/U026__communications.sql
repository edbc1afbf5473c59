-- U026: remove communications (every thread, message, participant, email header, attachment
-- link, template, retention rule and legal hold is lost; the attached documents stay).
-- Reverse order of V026.
SET LOCAL ROLE legal_owner;

DROP TABLE app.legal_holds;
DROP FUNCTION app_private.legal_holds_guard();
DROP TABLE app.retention_rules;

DROP TABLE app.message_template_versions;
DROP TABLE app.message_templates;
DROP FUNCTION app.is_valid_template(text, text, text[]);
DROP FUNCTION app.template_placeholders(text);

DROP TABLE app.message_attachments;
DROP TABLE app.email_messages;
DROP TABLE app.message_participants;
DROP TABLE app.messages;
DROP TABLE app.communication_threads;
DROP FUNCTION app_private.communications_delete_guard();
DROP TABLE app.communication_channels;
