-- V025 Japanese full-text search over documents: title, extracted text, 事件番号 and party names.
--
-- Two indexes, because neither covers Japanese alone (NOTES-postgres.md "Japanese search"):
--   * tokens: a tsvector of UniDic short-unit tokens computed in Python (harness/textsearch.py:
--     fugashi + unidic-lite), stored with to_tsvector('simple', ...). Finds 2-character words
--     (契約, 離婚, 親権) that pg_trgm cannot, and phrases (損害 <-> 賠償).
--   * search_text: NFKC/lower-cased text with a pg_trgm GIN index for substrings of 3+
--     characters that tokenization may cut differently (事件番号, names, partial words).
--
-- Fast under RLS. Full-text and trigram operators are not LEAKPROOF, so on a table with row
-- level security the planner may not use them as index conditions at all (they must wait until
-- the policy qual has run): every search becomes "all rows of the tenant, then filter", which
-- grows with the tenant's size. So:
--   * app.search_documents is a standard tenant table (ENABLE + FORCE RLS, the per-command
--     policies, composite keys) that the application and the loader read and write, but it is
--     hash-partitioned by tenant_id and its 8 partitions live in app_private: ENABLE RLS, not
--     forced, no policy and no privilege for anyone but the owner. Rows reach them only through
--     the parent, whose policies apply.
--   * The search function app.search_documents(...) (SECURITY DEFINER, owner) reads the one
--     partition holding the verified tenant directly, with an explicit
--     tenant_id = app.current_tenant_id(): no policy qual, so the composite GIN indexes
--     (tenant_id, tokens) and (tenant_id, search_text) (btree_gin) match the tenant and the
--     query in one index scan. It never takes a tenant parameter; the display columns of the
--     page are then read through the parent, under its policy, and the document must be live.
--   * The query runs through EXECUTE, so it is planned with its actual pattern every time: a
--     psycopg prepared call (generic plan after 5 executions) cannot pin a plan that ignores
--     the pattern. The function also carries plan_cache_mode = force_custom_plan for its
--     static statements.
--   * Ranking is bounded: the newest p_window (default 1,000) matches of the tenant are
--     ranked (ts_rank_cd must read each candidate's tsvector; for a term in 10% of a 400k-
--     document tenant, ranking every match would cost ~1 s whatever the index). Pages are
--     keyset-paged by (rank, document_id); one row more than the page says has_more; no total
--     is ever counted.
-- Matching: the client's tsquery (harness.textsearch.build_tsquery: AND of terms, a multi-token
-- term or "quoted words" is a phrase, synonyms OR-ed), else plainto_tsquery of the normalized
-- words (right for one-token words such as 契約). A single term of 3+ characters that matches
-- no document's tokens is searched as a substring with pg_trgm (partial words, OCR variants).
-- Synonyms (app.search_terms, app.tenant_search_terms) are applied by the caller in Python,
-- where the tokenizer is: app.search_synonyms(query) returns the groups to OR in.
-- Every search is logged in app.search_log (tenant table) with latency, page size and mode.
SET LOCAL ROLE legal_owner;

-- ---------------------------------------------------------------------------------------------
-- Normalization, the SQL twins of harness.textsearch.normalize_query / fold_kana.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION app.search_normalize(text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT btrim(regexp_replace(lower(normalize($1, NFKC)), '\s+', ' ', 'g')) $$;
COMMENT ON FUNCTION app.search_normalize(text) IS
    'NFKC (全角英数 -> ASCII, 半角カナ -> 全角), lower case, whitespace runs -> one space, trimmed. '
    'Mirrors harness.textsearch.normalize_query.';

CREATE FUNCTION app.search_kana(text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT translate($1,
        'ぁあぃいぅうぇえぉおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとどなにぬねの'
        || 'はばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろゎわゐゑをんゔゕゖゝゞ',
        'ァアィイゥウェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテデトドナニヌネノ'
        || 'ハバパヒビピフブプヘベペホボポマミムメモャヤュユョヨラリルレロヮワヰヱヲンヴヵヶヽヾ')
$$;
COMMENT ON FUNCTION app.search_kana(text) IS
    'Hiragana -> katakana, for readings (ふりがな = フリガナ). Mirrors harness.textsearch.fold_kana.';

-- The tsvector of a document from the loader's token strings: title weighs most (A), 事件番号
-- and party names next (B), the body least (D). Positions run on across the parts.
CREATE FUNCTION app.search_tsvector(p_title_tokens text, p_meta_tokens text, p_body_tokens text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT setweight(to_tsvector('simple'::regconfig, coalesce(p_title_tokens, '')), 'A')
        || setweight(to_tsvector('simple'::regconfig, coalesce(p_meta_tokens, '')), 'B')
        || to_tsvector('simple'::regconfig, coalesce(p_body_tokens, ''))
$$;
COMMENT ON FUNCTION app.search_tsvector(text, text, text) IS
    'tsvector of space-joined tokens (harness.textsearch.to_token_string): title A, 事件番号 and '
    'party names B, body D.';

GRANT EXECUTE ON FUNCTION app.search_normalize(text), app.search_kana(text),
    app.search_tsvector(text, text, text) TO legal_app, legal_readonly;

-- Adjacent token pairs of a tsvector, as lexemes "a b": the tokens at positions p and p+1,
-- exactly what a phrase a <-> b needs (so a document without the pair cannot match it; tokens
-- never contain a space, so a pair never equals a token). Indexed by search_documents_pairs_idx
-- for phrases of common tokens: 不法 <-> 行為 <-> 責任 at 1,000,000 generated documents holds
-- in none of them while 86,111 hold all three tokens; GIN has no positions, so the token index
-- gave 86,111 candidates to check (~230 ms), the pairs none (0.2-1.5 ms). ~0.3 ms a document.
CREATE FUNCTION app.search_pairs(p_tokens tsvector)
RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_at    text[];  -- lexeme at each position
    v_pairs text[] := '{}';
    r       record;
BEGIN
    FOR r IN SELECT u.lexeme, p.pos FROM unnest(p_tokens) u, unnest(u.positions) p (pos) LOOP
        v_at[r.pos] := r.lexeme;
    END LOOP;
    IF v_at IS NULL THEN
        RETURN ''::tsvector;
    END IF;
    FOR i IN array_lower(v_at, 1) .. array_upper(v_at, 1) - 1 LOOP
        IF v_at[i] IS NOT NULL AND v_at[i + 1] IS NOT NULL THEN
            v_pairs := v_pairs || (v_at[i] || ' ' || v_at[i + 1]);
        END IF;
    END LOOP;
    RETURN array_to_tsvector(v_pairs);
END
$$;
COMMENT ON FUNCTION app.search_pairs(tsvector) IS
    'Adjacent token pairs ("a b", positions p and p+1) of a tsvector, unweighted: a necessary '
    'condition of every phrase a <-> b, indexed for phrases of common tokens.';
GRANT EXECUTE ON FUNCTION app.search_pairs(tsvector) TO legal_app, legal_readonly;

-- The pairs a tsquery requires: for a query of lexemes, AND and phrases only (no OR, NOT,
-- weights, prefixes, backslashes or distances other than 1), each a <-> b it contains; NULL
-- otherwise or when it has none. Read from the tsquery's text, where <-> binds tighter than &.
CREATE FUNCTION app_private.search_required_pairs(p_query tsquery)
RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_text   text := p_query::text;
    v_prev   text;
    v_phrase boolean := false;
    v_pairs  text[] := '{}';
    m        text[];
BEGIN
    IF strpos(v_text, '|') > 0 OR strpos(v_text, '!') > 0 OR strpos(v_text, E'\\') > 0
       OR strpos(v_text, ''':') > 0 OR v_text ~ '<[0-9]+>' THEN
        RETURN NULL;
    END IF;
    FOR m IN SELECT regexp_matches(v_text, '''((?:[^'']|'''')*)''|(<->|&|[()])', 'g') LOOP
        IF m[1] IS NOT NULL THEN
            IF v_phrase THEN
                v_pairs := v_pairs || (v_prev || ' ' || replace(m[1], '''''', ''''));
            END IF;
            v_prev := replace(m[1], '''''', '''');
            v_phrase := false;
        ELSE
            v_phrase := m[2] = '<->' AND v_prev IS NOT NULL;
            IF m[2] <> '<->' THEN
                v_prev := NULL;
            END IF;
        END IF;
    END LOOP;
    IF cardinality(v_pairs) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT string_agg('''' || replace(x, '''', '''''') || '''', ' & ')
              FROM unnest(v_pairs) x)::tsquery;
END
$$;
COMMENT ON FUNCTION app_private.search_required_pairs(tsquery) IS
    'The app.search_pairs lexemes every match of the query must hold (AND of its a <-> b), or '
    'NULL when the query is not only AND and phrases or has no phrase.';
REVOKE ALL ON FUNCTION app_private.search_required_pairs(tsquery) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Legal term dictionary: a global reference list and per-tenant additions.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.search_terms (
    term     text   PRIMARY KEY CHECK (length(term) BETWEEN 1 AND 50
                                       AND term = app.search_normalize(term)),
    reading  text   NOT NULL CHECK (reading ~ '^[ァ-ヶー]+$'),
    synonyms text[] NOT NULL DEFAULT '{}'
                    CHECK (array_position(synonyms, NULL) IS NULL
                           AND NOT term = ANY (synonyms)
                           AND synonyms::text = app.search_normalize(synonyms::text))
);
COMMENT ON TABLE app.search_terms IS
    'Legal terms with their reading (katakana) and synonyms / orthographic variants; a search '
    'for any of term, reading or a synonym also finds the others (app.search_synonyms).';
INSERT INTO app.search_terms (term, reading, synonyms) VALUES
    ('損害賠償', 'ソンガイバイショウ', '{賠償金,損害賠償金}'),
    ('弁護士費用', 'ベンゴシヒヨウ', '{弁護士報酬,報酬}'),
    ('名誉毀損', 'メイヨキソン', '{名誉棄損,名誉き損}'),
    ('慰謝料', 'イシャリョウ', '{慰藉料}'),
    ('養育費', 'ヨウイクヒ', '{子の監護費用}'),
    ('過払金', 'カバライキン', '{過払い金}'),
    ('立退料', 'タチノキリョウ', '{立ち退き料,立退き料}'),
    ('貸金', 'カシキン', '{貸付金}'),
    ('未払賃金', 'ミバライチンギン', '{未払い賃金,未払給料}'),
    -- 離縁 is the dissolution of an adoption (養子縁組), not a divorce: no synonym of 離婚.
    ('離婚', 'リコン', '{}'),
    ('親権', 'シンケン', '{}'),
    ('契約', 'ケイヤク', '{}'),
    ('交通事故', 'コウツウジコ', '{}'),
    ('遺産分割', 'イサンブンカツ', '{}');
CALL app_private.secure_reference_table('app.search_terms');

CREATE TABLE app.tenant_search_terms (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    term        text        NOT NULL CHECK (length(term) BETWEEN 1 AND 50
                                            AND term = app.search_normalize(term)),
    reading     text        CHECK (reading ~ '^[ァ-ヶー]+$'),
    synonyms    text[]      NOT NULL DEFAULT '{}'
                            CHECK (array_position(synonyms, NULL) IS NULL
                                   AND NOT term = ANY (synonyms)
                                   AND synonyms::text = app.search_normalize(synonyms::text)),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX tenant_search_terms_term_key ON app.tenant_search_terms (tenant_id, term)
    WHERE deleted_at IS NULL;
COMMENT ON TABLE app.tenant_search_terms IS
    'A firm''s own search terms and synonyms (client names, matter nicknames), added to '
    'app.search_terms for that firm only.';
CALL app_private.secure_tenant_table('app.tenant_search_terms');

-- Invoker rights: the tenant's own terms come through its RLS policy.
CREATE FUNCTION app.search_synonyms(p_query text)
RETURNS TABLE (term text, alternatives text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH q AS (
        SELECT DISTINCT btrim(w, '"') AS word
          FROM regexp_split_to_table(app.search_normalize(p_query), ' ') AS w
         WHERE btrim(w, '"') <> ''
    ), entries AS (
        SELECT t.term, t.reading, t.synonyms FROM app.search_terms t
        UNION ALL
        SELECT t.term, t.reading, t.synonyms FROM app.tenant_search_terms t
         WHERE t.tenant_id = (SELECT app.current_tenant_id())
    )
    SELECT q.word, ARRAY[e.term] || e.synonyms
      FROM q JOIN entries e
        ON q.word = e.term OR q.word = ANY (e.synonyms)
           OR app.search_kana(q.word) = e.reading
     ORDER BY 1, 2
$$;
COMMENT ON FUNCTION app.search_synonyms(text) IS
    'For each word of the query that is a dictionary term, synonym or reading: the whole group '
    '(term first). Global and the verified tenant''s terms. harness.textsearch.synonym_map '
    'merges the rows for build_tsquery.';
GRANT EXECUTE ON FUNCTION app.search_synonyms(text) TO legal_app, legal_readonly;

-- ---------------------------------------------------------------------------------------------
-- The search table. Derived data, rebuilt from documents/versions/cases/parties by the loader
-- (one row per document, upserted ON CONFLICT (tenant_id, document_id)). No deleted_at: a row
-- is removed (hard DELETE) when its document is soft-deleted (trigger below) or no longer
-- searchable, so there is no stale copy of a deleted document's text; and without deleted_at
-- the table is not audited (V019 attaches the audit trigger to business tables), which would
-- copy every document's full text and tokens into the audit log on each reindex.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.search_documents (
    tenant_id     uuid        NOT NULL REFERENCES app.tenants (id),
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    document_id   uuid        NOT NULL,
    case_id       uuid        NOT NULL,
    document_type text        NOT NULL REFERENCES app.document_types (code),
    document_date date        NOT NULL,
    title         text        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    case_number   text        CHECK (length(case_number) <= 100),
    party_names   text        CHECK (length(party_names) <= 4000),
    -- app.search_tsvector(title tokens, 事件番号 + party tokens, body tokens).
    tokens        tsvector    NOT NULL,
    -- Trigram text: title, 事件番号, party names and extracted text joined by newlines;
    -- normalized (app.search_normalize) by the row trigger whatever the loader sends.
    search_text   text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    uuid        DEFAULT app.current_user_id(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    uuid        DEFAULT app.current_user_id(),
    version       integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, document_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES app.documents (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id)
) PARTITION BY HASH (tenant_id);
COMMENT ON TABLE app.search_documents IS
    'Search index rows of documents (tokens for full text, normalized text for trigrams), '
    'maintained by the loader; hash-partitioned by tenant, partitions in app_private. Search '
    'through app.search_documents(query, ...) for index-speed queries under RLS.';
COMMENT ON COLUMN app.search_documents.tokens IS
    'app.search_tsvector(title, 事件番号 + party names, body) of harness.textsearch tokens.';
COMMENT ON COLUMN app.search_documents.search_text IS
    'NFKC/lower-cased title, 事件番号, party names and extracted text (pg_trgm, 3+ characters).';

DO $$
BEGIN
    FOR r IN 0..7 LOOP
        EXECUTE format('CREATE TABLE app_private.%I PARTITION OF app.search_documents '
                       'FOR VALUES WITH (MODULUS 8, REMAINDER %s)', 'search_documents_p' || r, r);
        -- Not forced: the owner's search function reads it without policy quals. Nobody else
        -- holds a privilege on it (the application reaches the rows through the parent).
        EXECUTE format('ALTER TABLE app_private.%I ENABLE ROW LEVEL SECURITY',
                       'search_documents_p' || r);
        EXECUTE format('REVOKE ALL ON app_private.%I FROM PUBLIC', 'search_documents_p' || r);
        EXECUTE format('COMMENT ON TABLE app_private.%I IS %L', 'search_documents_p' || r,
                       'Partition of app.search_documents (hash of tenant_id, remainder ' || r
                       || ' of 8). Read directly only by app.search_documents(...).');
    END LOOP;
END
$$;

-- The tokens stay in the row (STORAGE MAIN: compressed if that helps, moved out only when the
-- row would pass 8 kB; the body's search_text still goes to TOAST first). A tsvector of a
-- generated document is ~2.4 kB and does not compress, so by default it went out of line and
-- every search read it back from TOAST: a phrase check or a walk's match test fetched two
-- more pages per row. Measured on the 86,111 documents of the largest tenant at `large`
-- that hold 不法, 行為 and 責任 (none in that order): the phrase check 280 -> 103 ms
-- (3.3 -> 1.2 us a row), the rows' total size 382 -> 366 MB. Set on the parent, it applies
-- to every partition (ALTER TABLE recurses).
ALTER TABLE app.search_documents ALTER COLUMN tokens SET STORAGE MAIN;

-- tenant_id inside the GIN indexes (btree_gin): one index scan intersects the tenant with
-- the query terms, however many tenants share the partition.
CREATE INDEX search_documents_tokens_idx ON app.search_documents
    USING gin (tenant_id, tokens);
CREATE INDEX search_documents_trgm_idx ON app.search_documents
    USING gin (tenant_id, search_text extensions.gin_trgm_ops);
-- Adjacent token pairs (app.search_pairs), for phrases of common tokens; read only by the
-- bitmap path of app.search_documents, so no walk computes them per row.
CREATE INDEX search_documents_pairs_idx ON app.search_documents
    USING gin (app.search_pairs(tokens));
CREATE INDEX search_documents_case_idx ON app.search_documents (tenant_id, case_id);
CREATE INDEX search_documents_date_idx ON app.search_documents (tenant_id, document_date);
-- Search with a document-type filter: newest first within the type and date range (at
-- 1,000,000 documents, 9 types: p95 ~600 -> ~40 ms for a term in 18% of them).
CREATE INDEX search_documents_type_date_idx ON app.search_documents
    (tenant_id, document_type, document_date);
CALL app_private.secure_tenant_table('app.search_documents');
-- Optimistic-locking stamps although the table has no deleted_at (secure_tenant_table adds
-- them only to business tables).
CREATE TRIGGER search_documents_stamp BEFORE UPDATE ON app.search_documents
    FOR EACH ROW EXECUTE FUNCTION app_private.stamp_row();

CREATE FUNCTION app_private.search_documents_normalize()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.search_text := app.search_normalize(NEW.search_text);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.search_documents_normalize() IS
    'Normalizes search_text as queries are (app.search_normalize), whatever the loader sent.';
CREATE TRIGGER search_documents_normalize BEFORE INSERT OR UPDATE OF search_text
    ON app.search_documents FOR EACH ROW EXECUTE FUNCTION app_private.search_documents_normalize();

-- A soft-deleted document leaves the index at once (runs as whoever deletes: app.soft_delete
-- acts as the owner within the verified tenant).
CREATE FUNCTION app_private.search_documents_forget()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM app.search_documents s WHERE s.tenant_id = NEW.tenant_id AND s.document_id = NEW.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION app_private.search_documents_forget() IS
    'AFTER UPDATE OF deleted_at on app.documents: removes the search row of a deleted document.';
CREATE TRIGGER documents_search_forget AFTER UPDATE OF deleted_at ON app.documents
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION app_private.search_documents_forget();

-- The partition holding a tenant's rows (the hash of its id).
CREATE FUNCTION app_private.search_partition(p_tenant uuid)
RETURNS regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
           LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                'modulus (\d+), remainder (\d+)') AS b(m)
     WHERE i.inhparent = 'app.search_documents'::regclass
       AND satisfies_hash_partition('app.search_documents'::regclass, b.m[1]::integer,
                                    b.m[2]::integer, p_tenant)
$$;
COMMENT ON FUNCTION app_private.search_partition(uuid) IS
    'The partition of app.search_documents that holds the rows of a tenant.';

-- ---------------------------------------------------------------------------------------------
-- Search analytics.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.search_log (
    tenant_id        uuid          NOT NULL REFERENCES app.tenants (id),
    id               uuid          NOT NULL DEFAULT gen_random_uuid(),
    user_id          uuid,
    query            text          NOT NULL CHECK (length(query) <= 500),
    normalized_query text          NOT NULL CHECK (length(normalized_query) <= 500),
    filters          jsonb         NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filters) = 'object'),
    hits             integer       NOT NULL CHECK (hits >= 0),
    has_more         boolean       NOT NULL,
    latency_ms       numeric(10, 3) NOT NULL CHECK (latency_ms >= 0),
    created_at       timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app.users (tenant_id, id),
    CHECK (NOT has_more OR hits > 0)
);
CREATE INDEX search_log_created_idx ON app.search_log (tenant_id, created_at);
CREATE INDEX search_log_query_idx ON app.search_log (tenant_id, normalized_query);
COMMENT ON TABLE app.search_log IS
    'One row per search (written by app.search_documents as the owner): query, filters, hits '
    'returned on the page, has_more, latency. Read-only to the application.';
COMMENT ON COLUMN app.search_log.hits IS
    'Rows returned on this page (no exact total is ever counted).';
CALL app_private.secure_tenant_table('app.search_log', 'SELECT');

CREATE VIEW app.search_top_queries WITH (security_invoker = true) AS
SELECT l.tenant_id, l.normalized_query, count(*) AS searches,
       count(*) FILTER (WHERE l.hits = 0) AS zero_result_searches,
       round(avg(l.latency_ms), 3) AS avg_latency_ms, max(l.created_at) AS last_searched_at
  FROM app.search_log l
 GROUP BY l.tenant_id, l.normalized_query;
COMMENT ON VIEW app.search_top_queries IS
    'Searches per normalized query (security_invoker: the search_log policy applies).';

CREATE VIEW app.search_zero_result_queries WITH (security_invoker = true) AS
SELECT l.tenant_id, l.normalized_query, count(*) AS searches,
       max(l.created_at) AS last_searched_at
  FROM app.search_log l
 WHERE l.hits = 0
 GROUP BY l.tenant_id, l.normalized_query;
COMMENT ON VIEW app.search_zero_result_queries IS
    'Queries that found nothing: candidates for app.tenant_search_terms synonyms '
    '(security_invoker: the search_log policy applies).';
REVOKE ALL ON app.search_top_queries, app.search_zero_result_queries FROM PUBLIC;
GRANT SELECT ON app.search_top_queries, app.search_zero_result_queries
    TO legal_app, legal_readonly;

-- ---------------------------------------------------------------------------------------------
-- The search function.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION app.search_documents(
    p_query         text,
    p_tsquery       text    DEFAULT NULL,
    p_case_id       uuid    DEFAULT NULL,
    p_document_type text    DEFAULT NULL,
    p_date_from     date    DEFAULT NULL,
    p_date_to       date    DEFAULT NULL,
    p_limit         integer DEFAULT 20,
    p_after_rank    real    DEFAULT NULL,
    p_after_id      uuid    DEFAULT NULL,
    p_window        integer DEFAULT 1000
)
RETURNS TABLE (document_id uuid, case_id uuid, document_type text, document_date date,
               title text, case_number text, party_names text, rank real, has_more boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
    v_started   timestamptz := clock_timestamp();
    v_tenant    uuid := app.current_tenant_id();
    v_norm      text := app.search_normalize(coalesce(p_query, ''));
    v_part      regclass;
    v_tsq       tsquery;
    v_like      text;
    v_mode      text;
    v_none      boolean;
    v_sql       text;
    v_ids       uuid[] := '{}';
    v_ranks     real[] := '{}';
    v_more      boolean := false;
    v_hits      integer;
    v_seqscan   text := current_setting('enable_seqscan');
    v_bitmapscan text := current_setting('enable_bitmapscan');
    v_indexscan text := current_setting('enable_indexscan');
    v_work_mem  text := current_setting('work_mem');
    v_walk      boolean;
    v_bitmap    boolean;
    v_pairs     tsquery;
    v_pairs_used boolean := false;
    v_pairs_ever boolean := false;
    v_sample_hits integer;
    v_sample_rows integer;
    v_plan      json;
    r           record;
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'search_documents: no verified tenant (call app.begin_session first)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 100
       OR p_window IS NULL OR p_window NOT BETWEEN p_limit AND 10000 THEN
        RAISE EXCEPTION 'search_documents: limit % / window % out of range (1..100, limit..10000)',
            p_limit, p_window USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(coalesce(p_query, '')) > 500 OR length(coalesce(p_tsquery, '')) > 4000 THEN
        RAISE EXCEPTION 'search_documents: query too long' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (p_after_rank IS NULL) <> (p_after_id IS NULL) THEN
        RAISE EXCEPTION 'search_documents: p_after_rank and p_after_id go together'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_part := app_private.search_partition(v_tenant);

    -- Tokens: the client's tsquery (tokens, phrases, synonyms), else the normalized words
    -- (right for words that are one token, e.g. 契約).
    IF nullif(btrim(p_tsquery), '') IS NOT NULL THEN
        v_tsq := to_tsquery('simple'::regconfig, p_tsquery);
    ELSIF v_norm <> '' THEN
        v_tsq := plainto_tsquery('simple'::regconfig, replace(v_norm, '"', ' '));
    END IF;
    IF v_tsq IS NOT NULL AND numnode(v_tsq) = 0 THEN
        v_tsq := NULL;
    END IF;
    v_pairs := app_private.search_required_pairs(v_tsq);
    -- Substring (pg_trgm): a single term of 3+ characters, searched when no document of the
    -- tenant matches the tokens (partial words, OCR variants, unsegmented input).
    IF btrim(v_norm, '"') !~ '[ "]' AND char_length(btrim(v_norm, '"')) >= 3 THEN
        v_like := '%' || regexp_replace(btrim(v_norm, '"'), '([\\%_])', '\\\1', 'g') || '%';
    END IF;
    IF v_tsq IS NOT NULL THEN
        v_mode := 'tokens';
    ELSIF v_like IS NOT NULL THEN
        v_mode := 'substring';
    END IF;

    -- Once in tokens mode, and again in substring mode when the tokens found nothing.
    WHILE v_mode IS NOT NULL LOOP
        -- The planner's choice rests on its estimate of the matches, and for a phrase (a
        -- compound split into tokens, e.g. 不法 <-> 行為 <-> 責任) it multiplies the tokens'
        -- frequencies as if they were independent: 12,022 estimated, 130,320 actual at
        -- 1,000,000 documents, so it took the bitmap and read every match (415 ms) where the
        -- walk stops after ~8,000 rows (~20 ms). So measure instead: the share f of matches
        -- among the newest 250 documents under the same filters, and take the walk
        -- when it reads fewer rows, weighted by cost, than the bitmap: p_window / f rows
        -- walked (~1 us each) against f * N rows fetched by the bitmap (~3 us each), N the
        -- tenant's documents as the planner estimates them (~0.2 ms). Otherwise, or for a
        -- tenant with fewer documents than the sample, the planner decides (measured: 20,000
        -- documents, a term in 3.9%: bitmap 10 ms, walk 23 ms; 1,000,000 documents, 13%:
        -- bitmap 415 ms, walk 20 ms). The sample reads its documents' tokens: 1,000 of them
        -- cost 21 ms at 1,000,000 generated documents (a third of a common term's search),
        -- 250 cost 6 ms and still tell a term in 2% (the walk's threshold there) from one
        -- in 0.1%.
        v_walk := false;
        v_bitmap := false;
        IF v_mode = 'tokens' AND p_case_id IS NULL THEN
            EXECUTE format(
                'SELECT count(*) FILTER (WHERE x.tokens @@ $2)::integer, count(*)::integer'
                ' FROM (SELECT s.tokens FROM %1$s s WHERE s.tenant_id = $1%2$s%3$s%4$s'
                ' ORDER BY s.document_date DESC LIMIT 250) x',
                v_part,
                CASE WHEN p_document_type IS NOT NULL THEN ' AND s.document_type = $5' ELSE '' END,
                CASE WHEN p_date_from IS NOT NULL THEN ' AND s.document_date >= $6' ELSE '' END,
                CASE WHEN p_date_to IS NOT NULL THEN ' AND s.document_date <= $7' ELSE '' END)
               INTO v_sample_hits, v_sample_rows
               USING v_tenant, v_tsq, v_like, p_case_id, p_document_type, p_date_from,
                     p_date_to;
            IF v_sample_rows = 250 AND v_sample_hits > 0 THEN
                EXECUTE format('EXPLAIN (FORMAT JSON) SELECT FROM %s s WHERE s.tenant_id = $1',
                               v_part) INTO v_plan USING v_tenant;
                v_walk := 3.0 * (v_sample_hits / 250.0) ^ 2
                          * (v_plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric > p_window;
            ELSIF v_sample_rows = 250 THEN
                -- No match among the newest 250: rare or absent, so the bitmap. The planner
                -- may walk instead when it estimates a phrase of common tokens as frequent,
                -- and a walk that finds nothing reads the whole tenant (不法 <-> 行為 <-> 責任
                -- at 1,000,000 generated documents, none matching: walk 9.8 s, bitmap 1.3 s;
                -- with work_mem 16MB, so that the bitmap stays exact, 0.9 s: 86,111 documents
                -- hold the three tokens, and GIN cannot check their positions).
                v_bitmap := true;
            END IF;
        END IF;
        v_pairs_used := v_bitmap AND v_mode = 'tokens' AND v_pairs IS NOT NULL;
        v_pairs_ever := v_pairs_ever OR v_pairs_used;
        -- Phase 1, planned by EXECUTE at every call with the actual pattern and filters, and
        -- written with only the filters in use. The candidates are the newest p_window
        -- matches (document_date), ranked, keyset-filtered, one row more than the page.
        -- Ranking reads each candidate's tokens: bounding the candidates bounds the cost of a
        -- term matching a large share of a big tenant, which no index can rank for us. The
        -- window is chosen on narrow rows (id, date) and only its rows are read whole again,
        -- by their ctid (a TID scan, within this statement's snapshot the row version the
        -- window saw), in a scalar subquery so that no join strategy can turn that into a scan
        -- of the partition (measured at 80k documents/tenant, 13k matches: p50 ~150 -> ~50
        -- ms; by ctid rather than by key: 4 buffers a candidate -> 1, 慰謝料 walking 14,095
        -- of 994,954 documents 38.8 -> 31.9 ms, 離婚 12.6 -> 9.6 ms).
        -- The newest p_window matches are found by whichever path the planner estimates
        -- cheaper from the tokens' statistics (most common elements): a common term walks the
        -- (tenant_id[, document_type], document_date) index newest first and stops after
        -- p_window matches; a rare one takes the GIN bitmap and a top-N sort. Forcing the
        -- bitmap ("document_date + 0", as before) cost 0.6-1.7 s per call at 1,000,000
        -- documents in a tenant with terms in 18-95% of them (every match read); the walk
        -- costs 15-25 ms there (measured p95, scenarios/performance at large).
        -- $1 tenant, $2 tsquery, $3 LIKE pattern, $4 case, $5 type, $6/$7 dates, $8/$9 keyset,
        -- $10 page size + 1, $11 window, $12 the phrases' token pairs.
        v_sql := format(
            'SELECT document_id, rank FROM (SELECT c.document_id, (SELECT (%1$s)::real'
            ' FROM %2$s p WHERE p.ctid = c.ctid) AS rank'
            ' FROM (SELECT s.document_id, s.ctid FROM %2$s s WHERE %3$s%9$s%4$s%5$s'
            '%6$s%7$s ORDER BY s.document_date DESC, s.document_id LIMIT $11) c) t%8$s'
            ' ORDER BY t.rank DESC, t.document_id LIMIT $10',
            CASE v_mode
                WHEN 'tokens'
                THEN 'ts_rank_cd(''{0.1, 0.2, 0.4, 1.0}''::real[], p.tokens, $2, 1)'
                -- substring hits: in the title first, then 事件番号/party names, then body
                ELSE 'CASE WHEN app.search_normalize(p.title) LIKE $3 THEN 0.5'
                     ' WHEN app.search_normalize(concat_ws('' '', p.case_number,'
                     ' p.party_names)) LIKE $3 THEN 0.25 ELSE 0.1 END' END,
            v_part,
            -- With the pairs, the bitmap is theirs alone and the tenant and the phrase are
            -- checked on each of their few rows, in forms no index matches. ANDed with the
            -- tokens' index (11 ms at large for 契約 <-> 解除) the bitmap needed a recheck of
            -- every condition, so the heap scan computed the pairs again for each row (~0.35
            -- ms each); ANDed with the tenant's entry of that index (a million documents) it
            -- read 120 ms of postings.
            CASE WHEN v_mode <> 'tokens' THEN 's.tenant_id = $1 AND s.search_text LIKE $3'
                 WHEN v_pairs_used THEN '(s.tenant_id = $1) IS TRUE AND ts_match_vq(s.tokens, $2)'
                 ELSE 's.tenant_id = $1 AND s.tokens @@ $2' END,
            CASE WHEN p_case_id IS NOT NULL THEN ' AND s.case_id = $4' ELSE '' END,
            CASE WHEN p_document_type IS NOT NULL THEN ' AND s.document_type = $5' ELSE '' END,
            CASE WHEN p_date_from IS NOT NULL THEN ' AND s.document_date >= $6' ELSE '' END,
            CASE WHEN p_date_to IS NOT NULL THEN ' AND s.document_date <= $7' ELSE '' END,
            CASE WHEN p_after_id IS NOT NULL
                 THEN ' WHERE t.rank < $8 OR (t.rank = $8 AND t.document_id > $9)'
                 ELSE '' END,
            -- the bitmap of a phrase: its token pairs first (app.search_pairs); never on a
            -- walk, which would compute them for every row it reads
            CASE WHEN v_pairs_used THEN ' AND app.search_pairs(s.tokens) @@ $12' ELSE '' END);
        IF v_walk THEN
            PERFORM set_config('enable_bitmapscan', 'off', true),
                    set_config('enable_seqscan', 'off', true);
        ELSIF v_bitmap THEN
            PERFORM set_config('enable_indexscan', 'off', true),
                    set_config('enable_seqscan', 'off', true);
            IF pg_size_bytes(v_work_mem) < pg_size_bytes('16MB') THEN
                PERFORM set_config('work_mem', '16MB', true);
            END IF;
        END IF;
        FOR r IN EXECUTE v_sql
                 USING v_tenant, v_tsq, v_like, p_case_id, p_document_type, p_date_from,
                       p_date_to, p_after_rank, p_after_id, p_limit + 1, p_window, v_pairs LOOP
            v_ids := v_ids || r.document_id;
            v_ranks := v_ranks || r.rank;
        END LOOP;
        IF v_walk OR v_bitmap THEN
            PERFORM set_config('enable_bitmapscan', v_bitmapscan, true),
                    set_config('enable_indexscan', v_indexscan, true),
                    set_config('enable_seqscan', v_seqscan, true),
                    set_config('work_mem', v_work_mem, true);
        END IF;
        -- Substring instead when no document of the tenant matches the tokens. Decided after
        -- the token search, so that a search with hits pays nothing for it: asked first, the
        -- question cost 160 ms at 17,000 documents of a tenant sharing its partition (the
        -- planner answered EXISTS by walking the partition, expecting an early match).
        EXIT WHEN v_mode <> 'tokens' OR v_like IS NULL OR cardinality(v_ids) > 0;
        IF p_case_id IS NOT NULL OR p_document_type IS NOT NULL OR p_date_from IS NOT NULL
           OR p_date_to IS NOT NULL OR p_after_id IS NOT NULL THEN
            -- Nothing under the filters or past the keyset: are there token matches at all?
            -- Through the (tenant_id, tokens) index, never a walk of the partition.
            PERFORM set_config('enable_seqscan', 'off', true);
            EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s s WHERE s.tenant_id = $1'
                           ' AND s.tokens @@ $2)', v_part)
               INTO STRICT v_none USING v_tenant, v_tsq;
            PERFORM set_config('enable_seqscan', v_seqscan, true);
            EXIT WHEN NOT v_none;
        END IF;
        v_mode := 'substring';
    END LOOP;
    IF cardinality(v_ids) > p_limit THEN
        v_more := true;
        v_ids := v_ids[1:p_limit];
        v_ranks := v_ranks[1:p_limit];
    END IF;

    -- The page, read through the parent (its policy: the verified tenant) and only for live
    -- documents: a second, independent tenant check on everything returned.
    RETURN QUERY
    SELECT s.document_id, s.case_id, s.document_type, s.document_date, s.title, s.case_number,
           s.party_names, u.rank, v_more
      FROM unnest(v_ids, v_ranks) WITH ORDINALITY AS u(doc, rank, ord)
      JOIN app.search_documents s ON s.tenant_id = v_tenant AND s.document_id = u.doc
      JOIN app.documents d ON d.tenant_id = s.tenant_id AND d.id = s.document_id
                          AND d.deleted_at IS NULL
     ORDER BY u.ord;
    GET DIAGNOSTICS v_hits = ROW_COUNT;

    INSERT INTO app.search_log (tenant_id, user_id, query, normalized_query, filters, hits,
                                has_more, latency_ms)
    VALUES (v_tenant, app.current_user_id(), coalesce(p_query, ''), v_norm,
            jsonb_strip_nulls(jsonb_build_object(
                'case_id', p_case_id, 'document_type', p_document_type,
                'date_from', p_date_from, 'date_to', p_date_to,
                'page_after', CASE WHEN p_after_id IS NOT NULL THEN true END,
                'mode', v_mode, 'tsquery', v_tsq::text, 'limit', p_limit,
                'plan', CASE WHEN v_walk THEN 'walk' WHEN v_bitmap THEN 'bitmap' END,
                'pairs', CASE WHEN v_pairs_ever THEN true END,
                'window', p_window)),
            v_hits, v_more AND v_hits > 0,
            round((extract(epoch FROM clock_timestamp() - v_started) * 1000)::numeric, 3));
END
$$;
COMMENT ON FUNCTION app.search_documents(text, text, uuid, text, date, date, integer, real,
                                         uuid, integer) IS
    'Searches the verified tenant''s documents: tokens (p_tsquery from harness.textsearch, '
    'else the words), or a substring (one term of 3+ characters) when no document matches the '
    'tokens; filters case, type, date range; ranks (ts_rank_cd, title first) the newest '
    'p_window candidates; keyset pages by (rank, document_id) with has_more and no total. '
    'Reads the tenant''s partition directly with an explicit tenant filter so the GIN indexes '
    'are used under RLS; never takes a tenant id. Logs every call to app.search_log.';
GRANT EXECUTE ON FUNCTION app.search_documents(text, text, uuid, text, date, date, integer,
                                               real, uuid, integer) TO legal_app;

-- No planner statistics for identifying text (cross-tenant estimate oracle; see V024).
CALL app_private.hide_statistics('app.search_documents',
                                 '{title,case_number,party_names,search_text}');
CALL app_private.hide_statistics('app.search_log', '{query,normalized_query}');
