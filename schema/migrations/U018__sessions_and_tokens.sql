-- U018: remove sessions and tokens (every session is lost: users log in again).
SET LOCAL ROLE legal_owner;
DROP FUNCTION app.end_session(text);
DROP FUNCTION app.refresh_session(text);
DROP FUNCTION app.begin_session(text);
DROP FUNCTION app_private.issue_session(uuid, uuid, interval);
DROP FUNCTION app_private.login(uuid, uuid, interval, interval, uuid, uuid);
DROP FUNCTION app_private.parse_token(text);
DROP FUNCTION app_private.secret_hash(text);
DROP FUNCTION app_private.new_secret();
DROP TABLE app.refresh_tokens;
DROP TABLE app.sessions;
