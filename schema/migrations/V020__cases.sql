-- V020 cases: the Japanese legal workflow. Reference data (courts, 事件番号 symbols, practice
-- areas, party roles, the case status machine), clients and parties with a conflict-of-interest
-- key, contacts, cases with their 事件番号, status history, case parties and assignments,
-- hearings (期日), deadlines (期限) and the 利益相反 check log.
--
-- Domain rules are CHECK constraints; rules that need another row (status transitions, symbol
-- vs court level) are triggers raising check_violation, so the application classifies every
-- rejection by SQLSTATE 23514. Nothing here depends on V019 (audit): secure_tenant_table adds
-- whatever the newest foundation attaches.
SET LOCAL ROLE legal_owner;

-- ---------------------------------------------------------------------------------------------
-- Validation functions used by CHECK constraints (they run with the inserting role's EXECUTE
-- privilege, hence the grants to legal_app). IMMUTABLE: a row valid today stays valid. STRICT:
-- NULL in, NULL out, so a CHECK on an optional column lets NULL pass.
-- ---------------------------------------------------------------------------------------------

-- 法人番号: 13 digits, the check digit first: 9 - (Σ Pn·Qn mod 9), Pn the n-th digit from the
-- right of the 12-digit base (string positions 13 down to 2), Qn 1 for odd n, 2 for even n; so
-- odd string positions 3..13 weigh 1 and even positions 2..12 weigh 2. Written out rather than
-- summed over generate_series: no sub-query, one expression.
CREATE FUNCTION app.is_valid_corporate_number(p_number text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN p_number ~ '^[0-9]{13}$' THEN
        substr(p_number, 1, 1)::integer = 9 - (
              substr(p_number, 13, 1)::integer     + 2 * substr(p_number, 12, 1)::integer
            + substr(p_number, 11, 1)::integer     + 2 * substr(p_number, 10, 1)::integer
            + substr(p_number, 9, 1)::integer      + 2 * substr(p_number, 8, 1)::integer
            + substr(p_number, 7, 1)::integer      + 2 * substr(p_number, 6, 1)::integer
            + substr(p_number, 5, 1)::integer      + 2 * substr(p_number, 4, 1)::integer
            + substr(p_number, 3, 1)::integer      + 2 * substr(p_number, 2, 1)::integer
        ) % 9
    ELSE false END
$$;
COMMENT ON FUNCTION app.is_valid_corporate_number(text) IS
    '法人番号 check: 13 ASCII digits whose first digit is the check digit of the other twelve.';

-- Japanese telephone numbers as written, with hyphens: landlines 10 digits (03-1234-5678,
-- 045-123-4567, 0123-45-6789), mobiles and IP phones 11 digits (070/080/090/050-XXXX-XXXX),
-- toll-free and navi dial (0120/0570/0800-XXX-XXX[X]).
CREATE FUNCTION app.is_valid_phone_number(p_phone text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_phone ~ '^0[5789]0-[0-9]{4}-[0-9]{4}$'
        OR p_phone ~ '^(0120|0570|0800)-[0-9]{3}-[0-9]{3,4}$'
        OR (p_phone ~ '^0[1-9][0-9]{0,3}-[0-9]{1,4}-[0-9]{4}$'
            AND p_phone !~ '^0[5789]0-'
            AND length(replace(p_phone, '-', '')) = 10)
$$;
COMMENT ON FUNCTION app.is_valid_phone_number(text) IS
    'Japanese landline (10 digits), mobile/IP (11 digits) or toll-free number, hyphenated.';

CREATE FUNCTION app.is_valid_prefecture(p_name text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_name = ANY (ARRAY[
        '北海道', '青森県', '岩手県', '宮城県', '秋田県', '山形県', '福島県', '茨城県',
        '栃木県', '群馬県', '埼玉県', '千葉県', '東京都', '神奈川県', '新潟県', '富山県',
        '石川県', '福井県', '山梨県', '長野県', '岐阜県', '静岡県', '愛知県', '三重県',
        '滋賀県', '京都府', '大阪府', '兵庫県', '奈良県', '和歌山県', '鳥取県', '島根県',
        '岡山県', '広島県', '山口県', '徳島県', '香川県', '愛媛県', '高知県', '福岡県',
        '佐賀県', '長崎県', '熊本県', '大分県', '宮崎県', '鹿児島県', '沖縄県'])
$$;
COMMENT ON FUNCTION app.is_valid_prefecture(text) IS 'One of the 47 都道府県, written in full.';

-- The conflict-of-interest key of a party name. This is the SQL rendering of
-- datasets/domain/normalization.py (NORMALIZATION_STEPS; tests/schema/test_v020_cases.py
-- proves the two agree, character by character and on generated near-duplicates):
--   1. NFKC: full-width ASCII -> ASCII, half-width kana -> full-width, ㈱ -> (株);
--   2. one character pass: ASCII lower-cased, hiragana -> katakana, old/variant kanji -> the
--      standard form (髙 -> 高, 﨑 -> 崎, 邊/邉 -> 辺, 齋/齊 -> 斎, 澤 -> 沢, 濱 -> 浜, 櫻 -> 桜,
--      國 -> 国, ...); spaces (incl. U+3000), middle dots, ー and hyphens deleted;
--   3. legal-form designators removed wherever they stand (株式会社, 有限会社, 合同会社, (株), ...);
--   4. small kana -> large, ヂ/ヅ -> ジ/ズ, ヰ/ヱ/ヲ -> イ/エ/オ; then ヴァ.. -> バ.., ヴ -> ブ.
-- Only built-in IMMUTABLE functions, so it can feed a stored generated column.
CREATE FUNCTION app.normalize_party_name(text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT
        translate(replace(replace(replace(replace(translate(replace(replace(
        replace(replace(replace(replace(replace(replace(replace(replace(
        replace(replace(replace(replace(replace(replace(replace(replace(
        replace(replace(replace(replace(replace(replace(translate(
        normalize($1, NFKC),
        'ABCDEFGHIJKLMNOPQRSTUVWXYZぁあぃいぅう'
            || 'ぇえぉおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづて'
            || 'でとどなにぬねのはばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆ'
            || 'ょよらりるれろゎわゐゑをんゔゕゖゝゞ髙﨑嵜碕邊邉齋齊斉澤濱濵櫻廣'
            || '國圀條眞惠德學團藝澁瀨冨嶋嶌嶽舘槇桒曾黑圓壽實榮靜淺萬彌鐵龍瀧會'
            || '與兒亞應縣關驛寳寶峯嶺籠晉恆攝遙𠮷'
            || U&' \+000009\+00000A\+00000D\+00000C\+00000B\+0000A0\+003000・ー-‐‑‒–—―−',  -- deleted: no counterpart
        'abcdefghijklmnopqrstuvwxyzァアィイゥウ'
            || 'ェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテ'
            || 'デトドナニヌネノハバパヒビピフブプヘベペホボポマミムメモャヤュユ'
            || 'ョヨラリルレロヮワヰヱヲンヴヵヶヽヾ高崎崎崎辺辺斎斎斎沢浜浜桜広'
            || '国国条真恵徳学団芸渋瀬富島島岳館槙桑曽黒円寿実栄静浅万弥鉄竜滝会'
            || '与児亜応県関駅宝宝峰峰篭晋恒摂遥吉'),
        '特定非営利活動法人', ''),
        '一般社団法人', ''),
        '一般財団法人', ''),
        '公益社団法人', ''),
        '公益財団法人', ''),
        '社会福祉法人', ''),
        '株式会社', ''),
        '有限会社', ''),
        '合同会社', ''),
        '合資会社', ''),
        '合名会社', ''),
        '医療法人', ''),
        '学校法人', ''),
        'npo法人', ''),
        '(株)', ''),
        '(有)', ''),
        '(同)', ''),
        '(資)', ''),
        '(名)', ''),
        '(社)', ''),
        '(財)', ''),
        '(医)', ''),
        '(学)', ''),
        '(福)', ''),
        'ァィゥェォッャュョヮヵヶヂヅヰヱヲ',
        'アイウエオツヤユヨワカケジズイエオ'),
        'ヴア', 'バ'),
        'ヴイ', 'ビ'),
        'ヴエ', 'ベ'),
        'ヴオ', 'ボ'),
        'ヴ',
        'ブ')
$$;
COMMENT ON FUNCTION app.normalize_party_name(text) IS
    'Conflict-check key of a party name: NFKC, kana/kanji/width folds, legal forms and spaces '
    'removed. Mirrors datasets.domain.normalization.normalize_party_name.';

GRANT EXECUTE ON FUNCTION app.is_valid_corporate_number(text), app.is_valid_phone_number(text),
    app.is_valid_prefecture(text), app.normalize_party_name(text)
    TO legal_app, legal_readonly;

-- ---------------------------------------------------------------------------------------------
-- Reference data: global, read-only to the application.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.courts (
    id            smallint PRIMARY KEY,
    name          text     NOT NULL UNIQUE CHECK (name ~ '裁判所$'),
    level         text     NOT NULL CHECK (level IN ('supreme', 'high', 'district', 'family',
                                                     'summary')),
    prefecture    text     NOT NULL CHECK (app.is_valid_prefecture(prefecture)),
    -- The high court whose district the court lies in (a high court: itself; 知的財産高等裁判所:
    -- 東京, of which it is a special branch); NULL only for the Supreme Court.
    high_court_id smallint REFERENCES app.courts (id),
    CHECK ((level = 'supreme') = (high_court_id IS NULL))
);
COMMENT ON TABLE app.courts IS
    'Courts: 最高裁判所, 8 高等裁判所 + 知的財産高等裁判所, 50 地方/50 家庭裁判所, a representative set '
    'of 簡易裁判所 (ids: 1 supreme, 11-19 high, 101-150 district, 201-250 family, 301- summary).';

INSERT INTO app.courts (id, name, level, prefecture, high_court_id) VALUES
    (1, '最高裁判所', 'supreme', '東京都', NULL),
    (11, '札幌高等裁判所', 'high', '北海道', 11),
    (12, '仙台高等裁判所', 'high', '宮城県', 12),
    (13, '東京高等裁判所', 'high', '東京都', 13),
    (14, '名古屋高等裁判所', 'high', '愛知県', 14),
    (15, '大阪高等裁判所', 'high', '大阪府', 15),
    (16, '広島高等裁判所', 'high', '広島県', 16),
    (17, '高松高等裁判所', 'high', '香川県', 17),
    (18, '福岡高等裁判所', 'high', '福岡県', 18),
    (19, '知的財産高等裁判所', 'high', '東京都', 13);

-- The 50 district court seats; the family court of the same seat gets id + 100.
WITH seats (n, city, prefecture, high) AS (VALUES
    (1, '東京', '東京都', 13), (2, '横浜', '神奈川県', 13), (3, 'さいたま', '埼玉県', 13),
    (4, '千葉', '千葉県', 13), (5, '水戸', '茨城県', 13), (6, '宇都宮', '栃木県', 13),
    (7, '前橋', '群馬県', 13), (8, '静岡', '静岡県', 13), (9, '甲府', '山梨県', 13),
    (10, '長野', '長野県', 13), (11, '新潟', '新潟県', 13),
    (12, '大阪', '大阪府', 15), (13, '京都', '京都府', 15), (14, '神戸', '兵庫県', 15),
    (15, '奈良', '奈良県', 15), (16, '大津', '滋賀県', 15), (17, '和歌山', '和歌山県', 15),
    (18, '名古屋', '愛知県', 14), (19, '津', '三重県', 14), (20, '岐阜', '岐阜県', 14),
    (21, '福井', '福井県', 14), (22, '金沢', '石川県', 14), (23, '富山', '富山県', 14),
    (24, '広島', '広島県', 16), (25, '山口', '山口県', 16), (26, '岡山', '岡山県', 16),
    (27, '鳥取', '鳥取県', 16), (28, '松江', '島根県', 16),
    (29, '福岡', '福岡県', 18), (30, '佐賀', '佐賀県', 18), (31, '長崎', '長崎県', 18),
    (32, '大分', '大分県', 18), (33, '熊本', '熊本県', 18), (34, '鹿児島', '鹿児島県', 18),
    (35, '宮崎', '宮崎県', 18), (36, '那覇', '沖縄県', 18),
    (37, '仙台', '宮城県', 12), (38, '福島', '福島県', 12), (39, '山形', '山形県', 12),
    (40, '盛岡', '岩手県', 12), (41, '秋田', '秋田県', 12), (42, '青森', '青森県', 12),
    (43, '札幌', '北海道', 11), (44, '函館', '北海道', 11), (45, '旭川', '北海道', 11),
    (46, '釧路', '北海道', 11),
    (47, '高松', '香川県', 17), (48, '徳島', '徳島県', 17), (49, '高知', '高知県', 17),
    (50, '松山', '愛媛県', 17))
INSERT INTO app.courts (id, name, level, prefecture, high_court_id)
SELECT 100 + n, city || '地方裁判所', 'district', prefecture, high FROM seats
UNION ALL
SELECT 200 + n, city || '家庭裁判所', 'family', prefecture, high FROM seats;

-- 簡易裁判所: 438 in reality; the seats of the large district courts and some busy others.
INSERT INTO app.courts (id, name, level, prefecture, high_court_id) VALUES
    (301, '東京簡易裁判所', 'summary', '東京都', 13),
    (302, '八王子簡易裁判所', 'summary', '東京都', 13),
    (303, '立川簡易裁判所', 'summary', '東京都', 13),
    (304, '横浜簡易裁判所', 'summary', '神奈川県', 13),
    (305, '川崎簡易裁判所', 'summary', '神奈川県', 13),
    (306, 'さいたま簡易裁判所', 'summary', '埼玉県', 13),
    (307, '千葉簡易裁判所', 'summary', '千葉県', 13),
    (308, '静岡簡易裁判所', 'summary', '静岡県', 13),
    (309, '浜松簡易裁判所', 'summary', '静岡県', 13),
    (310, '新潟簡易裁判所', 'summary', '新潟県', 13),
    (311, '大阪簡易裁判所', 'summary', '大阪府', 15),
    (312, '堺簡易裁判所', 'summary', '大阪府', 15),
    (313, '京都簡易裁判所', 'summary', '京都府', 15),
    (314, '神戸簡易裁判所', 'summary', '兵庫県', 15),
    (315, '尼崎簡易裁判所', 'summary', '兵庫県', 15),
    (316, '姫路簡易裁判所', 'summary', '兵庫県', 15),
    (317, '名古屋簡易裁判所', 'summary', '愛知県', 14),
    (318, '金沢簡易裁判所', 'summary', '石川県', 14),
    (319, '広島簡易裁判所', 'summary', '広島県', 16),
    (320, '岡山簡易裁判所', 'summary', '岡山県', 16),
    (321, '福岡簡易裁判所', 'summary', '福岡県', 18),
    (322, '小倉簡易裁判所', 'summary', '福岡県', 18),
    (323, '那覇簡易裁判所', 'summary', '沖縄県', 18),
    (324, '仙台簡易裁判所', 'summary', '宮城県', 12),
    (325, '札幌簡易裁判所', 'summary', '北海道', 11),
    (326, '高松簡易裁判所', 'summary', '香川県', 17);
CALL app_private.secure_reference_table('app.courts');

-- 事件記号: which court level files a case under the symbol, and the kind of proceeding.
CREATE TABLE app.case_symbols (
    symbol      text PRIMARY KEY CHECK (symbol ~ '^[ぁ-んァ-ヶ一-龯]{1,3}$'),
    court_level text NOT NULL CHECK (court_level IN ('supreme', 'high', 'district', 'family',
                                                     'summary')),
    category    text NOT NULL CHECK (category IN ('civil', 'criminal', 'administrative',
                                                  'family')),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 100)
);
COMMENT ON TABLE app.case_symbols IS
    '事件記号 of 事件番号 (令和5年(ワ)第1234号): civil katakana, criminal hiragana, '
    'administrative 行 + katakana, family 家...; the court level that uses each.';
INSERT INTO app.case_symbols (symbol, court_level, category, description) VALUES
    ('ハ', 'summary', 'civil', '通常訴訟'),
    ('少コ', 'summary', 'civil', '少額訴訟'),
    ('ロ', 'summary', 'civil', '督促(支払督促)'),
    ('ノ', 'summary', 'civil', '民事調停'),
    ('イ', 'summary', 'civil', '起訴前の和解'),
    ('ろ', 'summary', 'criminal', '刑事公判'),
    ('い', 'summary', 'criminal', '略式命令'),
    ('ワ', 'district', 'civil', '通常訴訟'),
    ('手ワ', 'district', 'civil', '手形・小切手訴訟'),
    ('レ', 'district', 'civil', '控訴(簡易裁判所の判決に対する)'),
    ('ヨ', 'district', 'civil', '保全命令(仮差押え・仮処分)'),
    ('フ', 'district', 'civil', '破産'),
    ('再', 'district', 'civil', '民事再生'),
    ('再イ', 'district', 'civil', '小規模個人再生'),
    ('ヌ', 'district', 'civil', '不動産執行'),
    ('ル', 'district', 'civil', '債権執行'),
    ('ケ', 'district', 'civil', '担保権の実行としての競売'),
    ('行ウ', 'district', 'administrative', '行政訴訟(第一審)'),
    ('わ', 'district', 'criminal', '刑事公判'),
    ('ネ', 'high', 'civil', '控訴'),
    ('ツ', 'high', 'civil', '上告(高等裁判所への)'),
    ('ラ', 'high', 'civil', '抗告'),
    ('行コ', 'high', 'administrative', '行政訴訟の控訴'),
    ('う', 'high', 'criminal', '刑事控訴'),
    ('オ', 'supreme', 'civil', '上告'),
    ('受', 'supreme', 'civil', '上告受理申立て'),
    ('ク', 'supreme', 'civil', '特別抗告'),
    ('許', 'supreme', 'civil', '許可抗告'),
    ('行ツ', 'supreme', 'administrative', '行政訴訟の上告'),
    ('行ヒ', 'supreme', 'administrative', '行政訴訟の上告受理申立て'),
    ('あ', 'supreme', 'criminal', '刑事上告'),
    ('家', 'family', 'family', '家事審判'),
    ('家イ', 'family', 'family', '家事調停'),
    ('家ホ', 'family', 'family', '人事訴訟'),
    ('少', 'family', 'family', '少年保護事件');
CALL app_private.secure_reference_table('app.case_symbols');

-- A firm's practice areas (parent_id NULL) and their sub-areas; ids: area n, sub-area n * 100 + k.
CREATE TABLE app.case_categories (
    id         smallint PRIMARY KEY,
    parent_id  smallint REFERENCES app.case_categories (id),
    name       text     NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    sort_order smallint NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (parent_id, name),
    CHECK (parent_id IS DISTINCT FROM id)
);
COMMENT ON TABLE app.case_categories IS
    'Practice areas (一般民事, 家事, 労働, ...) and their sub-areas (離婚, 残業代, ...).';
INSERT INTO app.case_categories (id, parent_id, name, sort_order) VALUES
    (1, NULL, '一般民事', 1), (2, NULL, '家事', 2), (3, NULL, '労働', 3),
    (4, NULL, '刑事・少年', 4), (5, NULL, '債務整理', 5), (6, NULL, '企業法務', 6),
    (7, NULL, '知的財産', 7), (8, NULL, '債権回収', 8), (9, NULL, '行政', 9),
    (101, 1, '契約', 1), (102, 1, '貸金', 2), (103, 1, '損害賠償', 3), (104, 1, '交通事故', 4),
    (105, 1, '建物明渡', 5),
    (201, 2, '離婚', 1), (202, 2, '親権', 2), (203, 2, '養育費', 3), (204, 2, '財産分与', 4),
    (205, 2, '遺産分割', 5), (206, 2, '遺言', 6),
    (301, 3, '解雇', 1), (302, 3, '残業代', 2), (303, 3, '労働審判', 3),
    (401, 4, '刑事弁護', 1), (402, 4, '少年事件', 2), (403, 4, '犯罪被害者支援', 3),
    (501, 5, '任意整理', 1), (502, 5, '自己破産', 2), (503, 5, '個人再生', 3), (504, 5, '過払金', 4),
    (601, 6, '契約審査', 1), (602, 6, '顧問', 2), (603, 6, '株主総会', 3), (604, 6, 'M&A', 4),
    (605, 6, '事業承継', 5),
    (701, 7, '特許', 1), (702, 7, '商標', 2), (703, 7, '著作権', 3), (704, 7, '不正競争', 4),
    (801, 8, '売掛金回収', 1), (802, 8, '強制執行', 2), (803, 8, '保全処分', 3),
    (901, 9, '行政訴訟', 1), (902, 9, '審査請求', 2), (903, 9, '入管・在留', 3);
CALL app_private.secure_reference_table('app.case_categories');

-- Roles of a person in a matter. side: whose side the role stands on in the proceeding
-- (client = the firm's own client before any proceeding).
CREATE TABLE app.party_roles (
    id          smallint PRIMARY KEY,
    name        text     NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 20),
    side        text     NOT NULL CHECK (side IN ('client', 'active', 'passive', 'neutral')),
    description text     NOT NULL CHECK (length(description) BETWEEN 1 AND 100)
);
COMMENT ON TABLE app.party_roles IS
    'Roles of a person in a case (原告, 被告, 申立人, 相手方, 控訴人, 依頼者, ...).';
INSERT INTO app.party_roles (id, name, side, description) VALUES
    (1, '依頼者', 'client', '事務所に事件を依頼した者'),
    (2, '相談者', 'client', '法律相談のみの者(未受任)'),
    (3, '原告', 'active', '民事訴訟を提起した者'),
    (4, '被告', 'passive', '民事訴訟を提起された者'),
    (5, '申立人', 'active', '調停・審判・保全等を申し立てた者'),
    (6, '相手方', 'passive', '申立ての相手方'),
    (7, '控訴人', 'active', '控訴した者'),
    (8, '被控訴人', 'passive', '控訴の相手方'),
    (9, '上告人', 'active', '上告した者'),
    (10, '被上告人', 'passive', '上告の相手方'),
    (11, '抗告人', 'active', '抗告した者'),
    (12, '債権者', 'active', '執行・保全・倒産手続の債権者'),
    (13, '債務者', 'passive', '執行・保全・倒産手続の債務者'),
    (14, '参加人', 'neutral', '訴訟に参加した者'),
    (15, '補助参加人', 'neutral', '当事者の一方を補助するため参加した者'),
    (16, '利害関係人', 'neutral', '手続に利害関係を有する者'),
    (17, '被告人', 'passive', '刑事事件で公訴を提起された者'),
    (18, '被疑者', 'passive', '刑事事件で捜査の対象となっている者'),
    (19, '被害者', 'neutral', '犯罪・不法行為の被害者'),
    (20, '証人', 'neutral', '証人');
CALL app_private.secure_reference_table('app.party_roles');

-- The case status machine: 受任 -> 進行中 -> (和解 | 判決 | 取下げ) -> 終結. A pair not listed
-- is an illegal transition (e.g. 受任 -> 終結, anything out of 終結).
CREATE TABLE app.case_status_transitions (
    from_status text NOT NULL CHECK (from_status IN ('受任', '進行中', '和解', '判決', '取下げ',
                                                     '終結')),
    to_status   text NOT NULL CHECK (to_status IN ('受任', '進行中', '和解', '判決', '取下げ',
                                                   '終結')),
    PRIMARY KEY (from_status, to_status),
    CHECK (from_status <> to_status)
);
COMMENT ON TABLE app.case_status_transitions IS
    'Legal case status transitions; enforced by the cases_guard trigger on app.cases.';
INSERT INTO app.case_status_transitions (from_status, to_status) VALUES
    ('受任', '進行中'),
    ('進行中', '和解'), ('進行中', '判決'), ('進行中', '取下げ'),
    ('和解', '終結'), ('判決', '終結'), ('取下げ', '終結');
CALL app_private.secure_reference_table('app.case_status_transitions');

-- ---------------------------------------------------------------------------------------------
-- Clients, parties, contacts.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.clients (
    tenant_id        uuid        NOT NULL REFERENCES app.tenants (id),
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    kind             text        NOT NULL CHECK (kind IN ('individual', 'corporate')),
    name             text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_kana        text        CHECK (name_kana ~ '^[ァ-ヶー　 ・]+$'),
    -- The conflict-check key, computed by the database so that no writer can get it wrong.
    name_normalized  text        NOT NULL
                                 GENERATED ALWAYS AS (app.normalize_party_name(name)) STORED,
    corporate_number text        CHECK (app.is_valid_corporate_number(corporate_number)),
    -- マイナンバー: only the AES-256-GCM envelope (harness/crypto.py) and its keyed blind index.
    my_number_enc    bytea       CHECK (app_private.is_ciphertext(my_number_enc)),
    my_number_bidx   bytea       CHECK (octet_length(my_number_bidx) = 32),
    postal_code      text        CHECK (postal_code ~ '^[0-9]{3}-[0-9]{4}$'),
    prefecture       text        CHECK (app.is_valid_prefecture(prefecture)),
    address          text        CHECK (length(address) BETWEEN 1 AND 200),
    phone            text        CHECK (app.is_valid_phone_number(phone)),
    email            text        CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid        DEFAULT app.current_user_id(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       uuid        DEFAULT app.current_user_id(),
    deleted_at       timestamptz,
    version          integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, corporate_number),
    UNIQUE (tenant_id, my_number_bidx),
    CONSTRAINT clients_name_normalized_check CHECK (name_normalized <> ''),
    CONSTRAINT clients_corporate_number_kind_check
        CHECK (kind = 'corporate' OR corporate_number IS NULL),
    CONSTRAINT clients_my_number_kind_check CHECK (kind = 'individual' OR my_number_enc IS NULL),
    CONSTRAINT clients_my_number_pair_check
        CHECK ((my_number_enc IS NULL) = (my_number_bidx IS NULL))
);
COMMENT ON TABLE app.clients IS
    'Clients (依頼者) of a firm, individual or corporate; name_normalized feeds the 利益相反 check.';
COMMENT ON COLUMN app.clients.my_number_bidx IS
    'HMAC-SHA256 blind index of the マイナンバー (equality lookups without decrypting).';
CREATE INDEX clients_name_normalized_trgm_idx ON app.clients
    USING gin (name_normalized extensions.gin_trgm_ops);
CREATE INDEX clients_tenant_name_normalized_idx ON app.clients (tenant_id, name_normalized);
CALL app_private.secure_tenant_table('app.clients');

-- Adverse and other parties (相手方, 第三者): not clients, but checked for conflicts just the same.
CREATE TABLE app.parties (
    tenant_id        uuid        NOT NULL REFERENCES app.tenants (id),
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    kind             text        NOT NULL CHECK (kind IN ('individual', 'corporate')),
    name             text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_kana        text        CHECK (name_kana ~ '^[ァ-ヶー　 ・]+$'),
    name_normalized  text        NOT NULL
                                 GENERATED ALWAYS AS (app.normalize_party_name(name)) STORED,
    corporate_number text        CHECK (app.is_valid_corporate_number(corporate_number)),
    postal_code      text        CHECK (postal_code ~ '^[0-9]{3}-[0-9]{4}$'),
    prefecture       text        CHECK (app.is_valid_prefecture(prefecture)),
    address          text        CHECK (length(address) BETWEEN 1 AND 200),
    phone            text        CHECK (app.is_valid_phone_number(phone)),
    note             text        CHECK (length(note) <= 2000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid        DEFAULT app.current_user_id(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       uuid        DEFAULT app.current_user_id(),
    deleted_at       timestamptz,
    version          integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT parties_name_normalized_check CHECK (name_normalized <> ''),
    CONSTRAINT parties_corporate_number_kind_check
        CHECK (kind = 'corporate' OR corporate_number IS NULL)
);
COMMENT ON TABLE app.parties IS
    'Adverse and other parties of a firm''s cases; name_normalized feeds the 利益相反 check.';
CREATE INDEX parties_name_normalized_trgm_idx ON app.parties
    USING gin (name_normalized extensions.gin_trgm_ops);
CREATE INDEX parties_tenant_name_normalized_idx ON app.parties (tenant_id, name_normalized);
CALL app_private.secure_tenant_table('app.parties');

CREATE TABLE app.contacts (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    client_id   uuid        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    name_kana   text        CHECK (name_kana ~ '^[ァ-ヶー　 ・]+$'),
    department  text        CHECK (length(department) BETWEEN 1 AND 100),
    title       text        CHECK (length(title) BETWEEN 1 AND 100),
    phone       text        CHECK (app.is_valid_phone_number(phone)),
    email       text        CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    is_primary  boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES app.clients (tenant_id, id)
);
COMMENT ON TABLE app.contacts IS 'People at a client (担当者: 法務部長, 経理担当, ...).';
CREATE INDEX contacts_client_idx ON app.contacts (tenant_id, client_id);
-- One primary contact per client among the live ones.
CREATE UNIQUE INDEX contacts_primary_key ON app.contacts (tenant_id, client_id)
    WHERE is_primary AND deleted_at IS NULL;
CALL app_private.secure_tenant_table('app.contacts');

-- ---------------------------------------------------------------------------------------------
-- Cases.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.cases (
    tenant_id        uuid        NOT NULL REFERENCES app.tenants (id),
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    title            text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    category_id      smallint    NOT NULL REFERENCES app.case_categories (id),
    client_id        uuid        NOT NULL,
    status           text        NOT NULL DEFAULT '受任'
                                 CHECK (status IN ('受任', '進行中', '和解', '判決', '取下げ',
                                                   '終結')),
    court_id         smallint    REFERENCES app.courts (id),
    -- 事件番号 令和5年(ワ)第1234号 = era R, era_year 5, symbol ワ, number 1234 (元年 = 1). Assigned
    -- by the court on filing, so all four parts are NULL before and all set after.
    era              text        CHECK (era IN ('R', 'H')),
    era_year         smallint    CHECK ((era = 'H' AND era_year BETWEEN 1 AND 31)
                                        OR (era = 'R' AND era_year BETWEEN 1 AND 99)),
    symbol           text        REFERENCES app.case_symbols (symbol),
    number           integer     CHECK (number > 0),
    case_number      text        GENERATED ALWAYS AS (
                         CASE era WHEN 'R' THEN '令和' WHEN 'H' THEN '平成' END
                         || CASE WHEN era_year = 1 THEN '元' ELSE era_year::text END
                         || '年(' || symbol || ')第' || number::text || '号') STORED,
    confidentiality  smallint    NOT NULL DEFAULT 1 CHECK (confidentiality BETWEEN 1 AND 3),
    opened_on        date        NOT NULL DEFAULT (now() AT TIME ZONE 'Asia/Tokyo')::date,
    closed_on        date,
    economic_benefit bigint      CHECK (economic_benefit >= 0),  -- 経済的利益 (yen)
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid        DEFAULT app.current_user_id(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       uuid        DEFAULT app.current_user_id(),
    deleted_at       timestamptz,
    version          integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES app.clients (tenant_id, id),
    UNIQUE (tenant_id, court_id, era, era_year, symbol, number),
    CONSTRAINT cases_case_number_parts_check CHECK (num_nulls(era, era_year, symbol, number) IN (0, 4)),
    CONSTRAINT cases_case_number_court_check CHECK (number IS NULL OR court_id IS NOT NULL),
    CONSTRAINT cases_closed_on_check CHECK ((status = '終結') = (closed_on IS NOT NULL)),
    CONSTRAINT cases_closed_after_opened_check CHECK (closed_on >= opened_on)
);
COMMENT ON TABLE app.cases IS
    'Matters (事件) of a firm: client, practice area, court and 事件番号, status machine '
    '受任 -> 進行中 -> 和解/判決/取下げ -> 終結 (trigger cases_guard; history in case_status_history).';
COMMENT ON COLUMN app.cases.confidentiality IS '1 normal, 2 confidential, 3 strictly confidential.';
CREATE INDEX cases_status_idx ON app.cases (tenant_id, status);
CREATE INDEX cases_client_idx ON app.cases (tenant_id, client_id);
CALL app_private.secure_tenant_table('app.cases', 'SELECT, INSERT, UPDATE');

-- Every status a case has been in, with who and when; written by the cases_history trigger.
-- Append-only (SELECT, INSERT only), so it carries creation stamps but no update/delete/version
-- columns. A row must be a legal transition (or the initial 受任), even if inserted by hand.
CREATE TABLE app.case_status_history (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id     uuid        NOT NULL,
    from_status text,
    to_status   text        NOT NULL,
    -- clock_timestamp: several transitions in one transaction keep their order.
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by  uuid        DEFAULT app.current_user_id(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (from_status, to_status)
        REFERENCES app.case_status_transitions (from_status, to_status),
    CONSTRAINT case_status_history_initial_check CHECK (from_status IS NOT NULL OR to_status = '受任')
);
COMMENT ON TABLE app.case_status_history IS
    'Immutable log of every case status transition (the initial 受任 has from_status NULL).';
CREATE INDEX case_status_history_case_idx ON app.case_status_history
    (tenant_id, case_id, created_at);
CALL app_private.secure_tenant_table('app.case_status_history', 'SELECT, INSERT');

CREATE FUNCTION app_private.cases_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status IS DISTINCT FROM '受任' THEN
            RAISE EXCEPTION 'a new case starts in 受任, not %', NEW.status
                USING ERRCODE = 'check_violation', TABLE = 'cases', COLUMN = 'status';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT EXISTS (SELECT FROM app.case_status_transitions t
                       WHERE t.from_status = OLD.status AND t.to_status = NEW.status) THEN
            RAISE EXCEPTION 'illegal case status transition % -> %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation', TABLE = 'cases', COLUMN = 'status';
        END IF;
        IF NEW.status = '終結' THEN
            NEW.closed_on := coalesce(NEW.closed_on, (now() AT TIME ZONE 'Asia/Tokyo')::date);
        END IF;
    END IF;
    -- The 事件記号 must be one the case's court level uses (ワ at a district court, ネ at a
    -- high court, ...). Checked only when the symbol or the court is set or changed.
    IF NEW.symbol IS NOT NULL AND NEW.court_id IS NOT NULL THEN
        IF TG_OP = 'UPDATE' THEN
            IF NEW.symbol IS NOT DISTINCT FROM OLD.symbol
               AND NEW.court_id IS NOT DISTINCT FROM OLD.court_id THEN
                RETURN NEW;
            END IF;
        END IF;
        IF NOT EXISTS (SELECT FROM app.courts c
                         JOIN app.case_symbols s ON s.court_level = c.level
                        WHERE c.id = NEW.court_id AND s.symbol = NEW.symbol) THEN
            RAISE EXCEPTION '事件記号 % is not used by court %', NEW.symbol, NEW.court_id
                USING ERRCODE = 'check_violation', TABLE = 'cases', COLUMN = 'symbol';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.cases_guard() IS
    'BEFORE INSERT/UPDATE on app.cases: new cases start in 受任, only legal status transitions, '
    'closed_on set on 終結, 事件記号 matches the court level. Raises check_violation.';

CREATE FUNCTION app_private.cases_history()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO app.case_status_history (tenant_id, case_id, from_status, to_status)
        VALUES (NEW.tenant_id, NEW.id, NULL, NEW.status);
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO app.case_status_history (tenant_id, case_id, from_status, to_status)
        VALUES (NEW.tenant_id, NEW.id, OLD.status, NEW.status);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION app_private.cases_history() IS
    'AFTER INSERT/UPDATE OF status on app.cases: one case_status_history row per change.';

CREATE TRIGGER cases_guard BEFORE INSERT OR UPDATE ON app.cases
    FOR EACH ROW EXECUTE FUNCTION app_private.cases_guard();
-- AFTER, so that only rows really written (not a stale optimistic-lock miss) are logged.
CREATE TRIGGER cases_history AFTER INSERT OR UPDATE OF status ON app.cases
    FOR EACH ROW EXECUTE FUNCTION app_private.cases_history();

CREATE TABLE app.case_parties (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id     uuid        NOT NULL,
    -- Exactly one of: an adverse/other party, or a client (the firm's own side).
    party_id    uuid,
    client_id   uuid,
    role_id     smallint    NOT NULL REFERENCES app.party_roles (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (tenant_id, party_id) REFERENCES app.parties (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES app.clients (tenant_id, id),
    UNIQUE (tenant_id, case_id, party_id, role_id),
    UNIQUE (tenant_id, case_id, client_id, role_id),
    CONSTRAINT case_parties_one_person_check CHECK (num_nonnulls(party_id, client_id) = 1)
);
COMMENT ON TABLE app.case_parties IS 'Who is in a case, and as what (原告, 被告, 相手方, ...).';
CREATE INDEX case_parties_party_idx ON app.case_parties (tenant_id, party_id);
CREATE INDEX case_parties_client_idx ON app.case_parties (tenant_id, client_id);
CALL app_private.secure_tenant_table('app.case_parties');

CREATE TABLE app.case_assignments (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id     uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('lawyer', 'staff')),
    is_lead     boolean     NOT NULL DEFAULT false,  -- 主任弁護士
    -- The case is open (受任 or 進行中, not deleted): kept by triggers (below), never by hand.
    case_open   boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app.users (tenant_id, id),
    UNIQUE (tenant_id, case_id, user_id),
    CONSTRAINT case_assignments_lead_lawyer_check CHECK (NOT is_lead OR role = 'lawyer')
);
COMMENT ON TABLE app.case_assignments IS
    'Lawyers and staff working on a case; at most one live lead lawyer (主任) per case.';
CREATE UNIQUE INDEX case_assignments_lead_key ON app.case_assignments (tenant_id, case_id)
    WHERE is_lead AND deleted_at IS NULL;
CREATE INDEX case_assignments_user_idx ON app.case_assignments (tenant_id, user_id);
CALL app_private.secure_tenant_table('app.case_assignments');

-- case_open: which of a user's assignments are on open cases, known without reading the cases.
-- The RBAC case list of open cases (V023 app.visible_cases) then probes only those: an
-- associate at large holds 776 assignments, 165 of them on open cases, and each probe of a
-- case is a B-tree descent (~1.8 us). It is derived, so it is always computed: on every
-- insert and update of an assignment from its case (a client cannot set it), and on every
-- change of a case's openness for all its assignments.
CREATE FUNCTION app_private.case_assignments_case_open()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.case_open := coalesce((SELECT c.status IN ('受任', '進行中') AND c.deleted_at IS NULL
                                 FROM app.cases c
                                WHERE c.tenant_id = NEW.tenant_id AND c.id = NEW.case_id), false);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.case_assignments_case_open() IS
    'BEFORE INSERT/UPDATE on app.case_assignments: case_open from the case, whatever was given.';
CREATE TRIGGER case_assignments_case_open BEFORE INSERT OR UPDATE ON app.case_assignments
    FOR EACH ROW EXECUTE FUNCTION app_private.case_assignments_case_open();

CREATE FUNCTION app_private.cases_case_open()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- The assignments' own trigger reads the case as it now is.
    UPDATE app.case_assignments a SET case_open = NOT a.case_open
     WHERE a.tenant_id = NEW.tenant_id AND a.case_id = NEW.id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION app_private.cases_case_open() IS
    'AFTER UPDATE on app.cases that opens or closes a case: recomputes its assignments'' case_open.';
CREATE TRIGGER cases_case_open AFTER UPDATE OF status, deleted_at ON app.cases
    FOR EACH ROW
    WHEN ((OLD.status IN ('受任', '進行中') AND OLD.deleted_at IS NULL)
          IS DISTINCT FROM (NEW.status IN ('受任', '進行中') AND NEW.deleted_at IS NULL))
    EXECUTE FUNCTION app_private.cases_case_open();

-- 期日. Courts sit on weekdays within 9:00-17:00 Japan time (national holidays and the year-end
-- closure need a calendar and are not checked here).
CREATE TABLE app.hearings (
    tenant_id    uuid        NOT NULL REFERENCES app.tenants (id),
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id      uuid        NOT NULL,
    hearing_type text        NOT NULL CHECK (hearing_type IN ('口頭弁論期日', '弁論準備手続期日',
                                                              '和解期日', '判決言渡期日',
                                                              '調停期日', '審判期日')),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz,
    court_room   text        CHECK (length(court_room) BETWEEN 1 AND 100),  -- 第712号法廷, ...
    note         text        CHECK (length(note) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   uuid        DEFAULT app.current_user_id(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   uuid        DEFAULT app.current_user_id(),
    deleted_at   timestamptz,
    version      integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    CONSTRAINT hearings_weekday_check
        CHECK (extract(isodow FROM starts_at AT TIME ZONE 'Asia/Tokyo') BETWEEN 1 AND 5),
    CONSTRAINT hearings_court_hours_check
        CHECK ((starts_at AT TIME ZONE 'Asia/Tokyo')::time >= '09:00'
               AND (starts_at AT TIME ZONE 'Asia/Tokyo')::time < '17:00'),
    CONSTRAINT hearings_ends_at_check
        CHECK (ends_at > starts_at
               AND (ends_at AT TIME ZONE 'Asia/Tokyo')::date
                   = (starts_at AT TIME ZONE 'Asia/Tokyo')::date
               AND (ends_at AT TIME ZONE 'Asia/Tokyo')::time <= '17:00')
);
COMMENT ON TABLE app.hearings IS '期日 of a case: weekday, within court hours 9:00-17:00 JST.';
CREATE INDEX hearings_starts_at_idx ON app.hearings (tenant_id, starts_at);
CREATE INDEX hearings_case_idx ON app.hearings (tenant_id, case_id);
CALL app_private.secure_tenant_table('app.hearings');

-- 期限. 控訴期間 and 上告期間 are two weeks from service of the judgment (民訴法285条, 313条):
-- due_on = served_on + 14, filled in when omitted, enforced by CHECK.
CREATE TABLE app.deadlines (
    tenant_id         uuid        NOT NULL REFERENCES app.tenants (id),
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id           uuid        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('控訴期限', '上告期限', '答弁書提出期限',
                                                           '準備書面提出期限', '証拠提出期限',
                                                           '時効', 'その他')),
    due_on            date        NOT NULL,
    served_on         date,  -- 判決送達日 (or the day the period starts)
    source_hearing_id uuid,
    completed_at      timestamptz,
    note              text        CHECK (length(note) <= 2000),
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        uuid        DEFAULT app.current_user_id(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        uuid        DEFAULT app.current_user_id(),
    deleted_at        timestamptz,
    version           integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (tenant_id, source_hearing_id) REFERENCES app.hearings (tenant_id, id),
    CONSTRAINT deadlines_appeal_period_check
        CHECK (kind NOT IN ('控訴期限', '上告期限')
               OR (served_on IS NOT NULL AND due_on = served_on + 14)),
    CONSTRAINT deadlines_served_before_due_check CHECK (served_on <= due_on)
);
COMMENT ON TABLE app.deadlines IS
    '期限 of a case; 控訴期限/上告期限 = served_on + 14 days (filled when due_on is omitted).';
CREATE INDEX deadlines_due_on_idx ON app.deadlines (tenant_id, due_on);
CREATE INDEX deadlines_case_idx ON app.deadlines (tenant_id, case_id);
CALL app_private.secure_tenant_table('app.deadlines');

CREATE FUNCTION app_private.deadlines_fill_due()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.due_on IS NULL AND NEW.kind IN ('控訴期限', '上告期限') THEN
        NEW.due_on := NEW.served_on + 14;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.deadlines_fill_due() IS
    'BEFORE INSERT/UPDATE on app.deadlines: 控訴期限/上告期限 default to served_on + 14 days.';
CREATE TRIGGER deadlines_fill_due BEFORE INSERT OR UPDATE ON app.deadlines
    FOR EACH ROW EXECUTE FUNCTION app_private.deadlines_fill_due();

-- ---------------------------------------------------------------------------------------------
-- Conflict-of-interest (利益相反) checks.
-- ---------------------------------------------------------------------------------------------
-- Append-only log (SELECT, INSERT only): who searched for what, and what was found.
CREATE TABLE app.conflict_checks (
    tenant_id        uuid        NOT NULL REFERENCES app.tenants (id),
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    query_name       text        NOT NULL CHECK (length(query_name) BETWEEN 1 AND 200),
    query_normalized text        NOT NULL,
    threshold        real        NOT NULL CHECK (threshold > 0 AND threshold <= 1),
    result_count     integer     NOT NULL CHECK (result_count >= 0),
    hits             jsonb       NOT NULL DEFAULT '[]',
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid        DEFAULT app.current_user_id(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES app.users (tenant_id, id),
    CONSTRAINT conflict_checks_hits_check
        CHECK (jsonb_typeof(hits) = 'array' AND jsonb_array_length(hits) = result_count)
);
COMMENT ON TABLE app.conflict_checks IS
    '利益相反 check log: who (created_by) searched when for which name, and the hits.';
CREATE INDEX conflict_checks_created_at_idx ON app.conflict_checks (tenant_id, created_at);
CALL app_private.secure_tenant_table('app.conflict_checks', 'SELECT, INSERT');

-- SECURITY INVOKER: the caller's RLS decides what is searched, so a tenant can only ever find
-- its own clients and parties. Soft-deleted rows stay hidden (the SELECT policies); closed
-- cases' clients and parties are rows like any other and are found.
CREATE FUNCTION app.conflict_search(p_name text, p_threshold real DEFAULT 0.4)
RETURNS TABLE (source text, id uuid, name text, name_normalized text, similarity real)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant uuid := app.current_tenant_id();
    v_query text := app.normalize_party_name(p_name);
    v_hits jsonb;
BEGIN
    IF v_tenant IS NULL THEN
        RAISE EXCEPTION 'conflict_search: no verified tenant context (call app.begin_session)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF coalesce(v_query, '') = '' THEN
        RAISE EXCEPTION 'conflict_search: the name is empty after normalization'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_threshold IS NULL OR p_threshold <= 0 OR p_threshold > 1 THEN
        RAISE EXCEPTION 'conflict_search: threshold must be in (0, 1], got %', p_threshold
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT coalesce(jsonb_agg(to_jsonb(h) ORDER BY h.similarity DESC, h.source, h.name, h.id),
                    '[]'::jsonb)
      INTO v_hits
      FROM (SELECT 'client'::text AS source, c.id, c.name, c.name_normalized,
                   CASE WHEN c.name_normalized = v_query THEN 1::real
                        ELSE extensions.similarity(c.name_normalized, v_query) END AS similarity
              FROM app.clients c
             WHERE c.tenant_id = v_tenant
               AND (c.name_normalized = v_query
                    OR extensions.similarity(c.name_normalized, v_query) >= p_threshold)
            UNION ALL
            SELECT 'party'::text, p.id, p.name, p.name_normalized,
                   CASE WHEN p.name_normalized = v_query THEN 1::real
                        ELSE extensions.similarity(p.name_normalized, v_query) END
              FROM app.parties p
             WHERE p.tenant_id = v_tenant
               AND (p.name_normalized = v_query
                    OR extensions.similarity(p.name_normalized, v_query) >= p_threshold)) h;
    INSERT INTO app.conflict_checks (tenant_id, query_name, query_normalized, threshold,
                                     result_count, hits)
    VALUES (v_tenant, p_name, v_query, p_threshold, jsonb_array_length(v_hits), v_hits);
    RETURN QUERY
        SELECT x.source, x.id, x.name, x.name_normalized, x.similarity
          FROM jsonb_to_recordset(v_hits)
               AS x(source text, id uuid, name text, name_normalized text, similarity real)
         ORDER BY x.similarity DESC, x.source, x.name, x.id;
END
$$;
COMMENT ON FUNCTION app.conflict_search(text, real) IS
    '利益相反 search: clients and parties of the current tenant whose normalized name equals or '
    'is trigram-similar (>= threshold) to the normalized query, best first; logs the check.';
GRANT EXECUTE ON FUNCTION app.conflict_search(text, real) TO legal_app;
