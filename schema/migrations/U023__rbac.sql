-- U023: remove RBAC (roles, hierarchy, grants, user roles, teams, the derived closure and
-- effective grants, the permission catalog and the functions). Every firm's role configuration
-- is lost: export it first. The audit rows of past RBAC changes stay in the audit log.
SET LOCAL ROLE legal_owner;

DROP FUNCTION app_private.rbac_bootstrap(uuid, uuid);
DROP FUNCTION app.rbac_unassign_role(uuid, uuid);
DROP FUNCTION app.rbac_assign_role(uuid, uuid);
DROP FUNCTION app.rbac_revoke(uuid, text, text);
DROP FUNCTION app.rbac_grant(uuid, text, text, jsonb);
DROP FUNCTION app.rbac_require_admin();

DROP TRIGGER users_rbac_derive ON app.users;
DROP INDEX app.cases_created_by_idx;
-- The tables before the functions: their restrictive policies call app.rbac_is_admin(), their
-- triggers the derive functions, their CHECK app.rbac_condition_is_valid().
DROP TABLE app.team_members, app.teams, app.rbac_effective_grants, app.rbac_user_roles,
    app.rbac_role_grants, app.rbac_versions, app.rbac_role_closure, app.rbac_role_parents,
    app.rbac_roles;

DROP FUNCTION app.rbac_is_admin();
DROP FUNCTION app.visible_cases(uuid, text, text[], integer, timestamptz, uuid);
DROP FUNCTION app.visible_case_ids(uuid, text);
DROP FUNCTION app_private.case_visibility(uuid, uuid, text, boolean);
DROP FUNCTION app.has_permission(uuid, text, regclass, uuid);
DROP FUNCTION app_private.rbac_users_derive();
DROP FUNCTION app_private.rbac_user_derive();
DROP FUNCTION app_private.rbac_role_grants_derive();
DROP FUNCTION app_private.rbac_roles_derive();
DROP FUNCTION app_private.rbac_role_parents_derive();
DROP FUNCTION app_private.rbac_role_parents_guard();
DROP FUNCTION app_private.rbac_rebuild(uuid);
DROP FUNCTION app_private.rbac_holders(uuid, uuid[]);
DROP FUNCTION app_private.rbac_refresh_grants(uuid, uuid[]);
DROP FUNCTION app_private.rbac_rebuild_closure(uuid);
DROP FUNCTION app_private.rbac_lock(uuid);
DROP FUNCTION app_private.rbac_in_scope(uuid);
DROP FUNCTION app_private.rbac_grants_guard();
DROP FUNCTION app_private.team_members_guard();
DROP FUNCTION app_private.teams_end_memberships();
DROP FUNCTION app_private.rbac_scope_predicates(text[], jsonb[], regclass, text);
DROP FUNCTION app_private.rbac_json_type(regtype);
DROP FUNCTION app.rbac_condition_holds(jsonb, jsonb);
DROP FUNCTION app.rbac_condition_is_valid(jsonb);
DROP TABLE app.permissions;
