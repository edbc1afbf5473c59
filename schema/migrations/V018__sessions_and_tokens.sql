-- V018 sessions and tokens: hashed session and refresh tokens, expiry, revocation, refresh-token
-- rotation with reuse detection, and app.begin_session(token), the only way the application
-- role obtains a tenant context (signed by V017's app_private.sign_context).
--
-- Token format: '<kind>1.<tenant uuid>.<row uuid>.<secret>' with kind s (session) or r
-- (refresh). Only sha256(secret) is stored. The tenant in the token only selects where to look:
-- the row must exist in that tenant with that hash, so editing the tenant part fails.
SET LOCAL ROLE legal_owner;

CREATE TABLE app.sessions (
    tenant_id      uuid        NOT NULL REFERENCES app.tenants (id),
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id        uuid        NOT NULL,
    token_hash     bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text        CHECK (revoked_reason IN ('logout', 'rotated', 'reuse_detected',
                                                         'admin')),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app.users (tenant_id, id),
    CHECK (expires_at > created_at),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
COMMENT ON TABLE app.sessions IS 'Access sessions; the token is stored only as sha256 of its secret.';
CALL app_private.secure_tenant_table('app.sessions', '');

CREATE TABLE app.refresh_tokens (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    session_id  uuid        NOT NULL,
    family_id   uuid        NOT NULL,
    parent_id   uuid,
    token_hash  bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES app.sessions (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES app.refresh_tokens (tenant_id, id),
    CHECK (expires_at > created_at)
);
CREATE INDEX refresh_tokens_family_idx ON app.refresh_tokens (tenant_id, family_id);
COMMENT ON TABLE app.refresh_tokens IS
    'Single-use refresh tokens; a family is one login. Reusing a used token revokes the family.';
CALL app_private.secure_tenant_table('app.refresh_tokens', '');

CREATE FUNCTION app_private.new_secret()
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT translate(encode(extensions.gen_random_bytes(32), 'base64'), '+/=', '-_') $$;

CREATE FUNCTION app_private.secret_hash(p_secret text)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT extensions.digest(convert_to(p_secret, 'UTF8'), 'sha256') $$;

-- Splits a token into (kind, tenant, id, secret); NULLs when it is not well formed.
CREATE FUNCTION app_private.parse_token(p_token text, OUT kind text, OUT tenant_id uuid,
                                        OUT row_id uuid, OUT secret text)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_parts text[] := string_to_array(p_token, '.');
BEGIN
    IF array_length(v_parts, 1) = 4 AND v_parts[1] IN ('s1', 'r1')
       AND v_parts[2] ~ '^[0-9a-f-]{36}$' AND v_parts[3] ~ '^[0-9a-f-]{36}$'
       AND length(v_parts[4]) >= 40 THEN
        kind := v_parts[1];
        tenant_id := v_parts[2]::uuid;
        row_id := v_parts[3]::uuid;
        secret := v_parts[4];
    END IF;
END
$$;

-- Creates a session and the first refresh token of a new family for an active user.
-- Privileged (the login service; the harness as superuser): not granted to the application.
CREATE FUNCTION app_private.login(p_tenant uuid, p_user uuid,
                                  p_ttl interval DEFAULT '1 hour',
                                  p_refresh_ttl interval DEFAULT '30 days',
                                  p_family uuid DEFAULT NULL, p_parent uuid DEFAULT NULL)
RETURNS TABLE (session_token text, refresh_token text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_session uuid := gen_random_uuid();
    v_refresh uuid := gen_random_uuid();
    v_s_secret text := app_private.new_secret();
    v_r_secret text := app_private.new_secret();
BEGIN
    PERFORM app_private.sign_context(p_tenant, p_user);
    IF NOT EXISTS (SELECT FROM app.users u WHERE u.tenant_id = p_tenant AND u.id = p_user
                   AND u.status = 'active' AND u.deleted_at IS NULL) THEN
        RAISE EXCEPTION 'login: no active user % in tenant %', p_user, p_tenant
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    INSERT INTO app.sessions (tenant_id, id, user_id, token_hash, expires_at)
    VALUES (p_tenant, v_session, p_user, app_private.secret_hash(v_s_secret), now() + p_ttl);
    INSERT INTO app.refresh_tokens (tenant_id, id, session_id, family_id, parent_id, token_hash,
                                    expires_at)
    VALUES (p_tenant, v_refresh, v_session, coalesce(p_family, v_refresh), p_parent,
            app_private.secret_hash(v_r_secret), now() + p_refresh_ttl);
    session_token := concat_ws('.', 's1', p_tenant, v_session, v_s_secret);
    refresh_token := concat_ws('.', 'r1', p_tenant, v_refresh, v_r_secret);
    -- The caller gets tokens, not this tenant's context.
    PERFORM app_private.sign_context(NULL, NULL);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION app_private.login(uuid, uuid, interval, interval, uuid, uuid) IS
    'Issues a session and refresh token (privileged; password/SSO checks happen before).';

CREATE FUNCTION app_private.issue_session(p_tenant uuid, p_user uuid,
                                          p_ttl interval DEFAULT '1 hour')
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT session_token FROM app_private.login(p_tenant, p_user, p_ttl) $$;

CREATE FUNCTION app.begin_session(p_token text)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := app_private.parse_token(p_token);
    v_user uuid;
BEGIN
    IF t.kind IS DISTINCT FROM 's1' THEN
        PERFORM app_private.sign_context(NULL, NULL);
        RAISE EXCEPTION 'begin_session: malformed session token'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    -- Provisional context: lets this owner function see that tenant's sessions (owner policy).
    PERFORM app_private.sign_context(t.tenant_id, NULL);
    SELECT s.user_id INTO v_user
      FROM app.sessions s JOIN app.users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
     WHERE s.tenant_id = t.tenant_id AND s.id = t.row_id
       AND s.token_hash = app_private.secret_hash(t.secret)
       AND s.revoked_at IS NULL AND s.expires_at > now()
       AND u.status = 'active' AND u.deleted_at IS NULL;
    IF v_user IS NULL THEN
        PERFORM app_private.sign_context(NULL, NULL);
        RAISE EXCEPTION 'begin_session: invalid, expired or revoked session token'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    PERFORM app_private.sign_context(t.tenant_id, v_user);
    RETURN t.tenant_id;
END
$$;
COMMENT ON FUNCTION app.begin_session(text) IS
    'Verifies a session token and sets the signed tenant/user context for this transaction only.';

-- Rotation: a valid unused refresh token is spent and replaced (new session, same family).
-- A spent or revoked one is a reuse: the whole family and its sessions are revoked, and the
-- function returns status 'reuse_detected' (not an error, so that the revocation commits).
CREATE FUNCTION app.refresh_session(p_refresh_token text)
RETURNS TABLE (status text, session_token text, refresh_token text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := app_private.parse_token(p_refresh_token);
    r app.refresh_tokens;
    v_user uuid;
BEGIN
    IF t.kind IS DISTINCT FROM 'r1' THEN
        RAISE EXCEPTION 'refresh_session: malformed refresh token'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    PERFORM app_private.sign_context(t.tenant_id, NULL);
    SELECT * INTO r FROM app.refresh_tokens x
     WHERE x.tenant_id = t.tenant_id AND x.id = t.row_id
       AND x.token_hash = app_private.secret_hash(t.secret) FOR UPDATE;
    IF NOT FOUND OR r.expires_at <= now() THEN
        PERFORM app_private.sign_context(NULL, NULL);
        RAISE EXCEPTION 'refresh_session: invalid or expired refresh token'
            USING ERRCODE = 'invalid_authorization_specification';
    END IF;
    IF r.used_at IS NOT NULL OR r.revoked_at IS NOT NULL THEN
        UPDATE app.refresh_tokens SET revoked_at = coalesce(revoked_at, now())
         WHERE tenant_id = r.tenant_id AND family_id = r.family_id;
        UPDATE app.sessions SET revoked_at = now(), revoked_reason = 'reuse_detected'
         WHERE tenant_id = r.tenant_id AND revoked_at IS NULL AND id IN
               (SELECT session_id FROM app.refresh_tokens
                 WHERE tenant_id = r.tenant_id AND family_id = r.family_id);
        PERFORM app_private.sign_context(NULL, NULL);
        RETURN QUERY SELECT 'reuse_detected'::text, NULL::text, NULL::text;
        RETURN;
    END IF;
    UPDATE app.refresh_tokens SET used_at = now() WHERE tenant_id = r.tenant_id AND id = r.id;
    UPDATE app.sessions SET revoked_at = now(), revoked_reason = 'rotated'
     WHERE tenant_id = r.tenant_id AND id = r.session_id AND revoked_at IS NULL;
    SELECT user_id INTO v_user FROM app.sessions WHERE tenant_id = r.tenant_id AND id = r.session_id;
    RETURN QUERY SELECT 'rotated'::text, l.session_token, l.refresh_token
      FROM app_private.login(r.tenant_id, v_user, '1 hour', '30 days', r.family_id, r.id) l;
    PERFORM app_private.sign_context(NULL, NULL);
END
$$;
COMMENT ON FUNCTION app.refresh_session(text) IS
    'Spends a refresh token for a new session (rotation); reuse revokes the whole family.';

CREATE FUNCTION app.end_session(p_token text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := app_private.parse_token(p_token);
    v_count integer;
BEGIN
    IF t.kind IS DISTINCT FROM 's1' THEN
        RETURN false;
    END IF;
    PERFORM app_private.sign_context(t.tenant_id, NULL);
    UPDATE app.sessions SET revoked_at = now(), revoked_reason = 'logout'
     WHERE tenant_id = t.tenant_id AND id = t.row_id
       AND token_hash = app_private.secret_hash(t.secret) AND revoked_at IS NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    PERFORM app_private.sign_context(NULL, NULL);
    RETURN v_count = 1;
END
$$;
COMMENT ON FUNCTION app.end_session(text) IS 'Logout: revokes the session of this token.';

GRANT EXECUTE ON FUNCTION app.begin_session(text) TO legal_app, legal_readonly, legal_auditor;
GRANT EXECUTE ON FUNCTION app.refresh_session(text), app.end_session(text) TO legal_app;
