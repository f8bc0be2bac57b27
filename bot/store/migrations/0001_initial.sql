-- 0001: sources, content files, articles with tags and full-text search, the outbox,
-- and a small key-value table.
--
-- Every *_at column holds integer microseconds since 1970-01-01T00:00:00Z (UTC).
-- Integers compare and index exactly; bot/store/codec.py converts to and from aware
-- datetimes, so no code outside the store ever sees them.

CREATE TABLE sources (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL CHECK (kind IN ('content', 'feed')),
    locator          TEXT    NOT NULL,
    -- Set once the first full scan / first successful poll is recorded: until then
    -- published articles are recorded but not announced (the first-start rule).
    baseline_done_at INTEGER,
    -- Feed polling state (unused by content sources).
    etag             TEXT,
    last_modified    TEXT,
    failures         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    failing_since    INTEGER,
    last_error       TEXT,
    last_polled_at   INTEGER,
    UNIQUE (kind, locator)
);

CREATE TABLE articles (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES sources (id),
    -- Article.id: the permalink for files, the guid for feed entries.
    key            TEXT    NOT NULL,
    -- The caller's hash of the rendered article: a change here is a content change.
    content_hash   TEXT    NOT NULL,
    -- Hash of the bytes of the file it came from (content sources): finds moves.
    file_hash      TEXT,
    status         TEXT    NOT NULL
        CHECK (status IN ('published', 'draft', 'scheduled', 'expired', 'withdrawn')),
    title          TEXT    NOT NULL,
    title_fold     TEXT    NOT NULL,  -- casefolded title, for autocomplete
    url            TEXT,
    published_at   INTEGER,
    expires_at     INTEGER,
    lastmod        INTEGER,
    sort_at        INTEGER NOT NULL,  -- published_at, else first_seen_at: "newest" order
    -- When the status changes next by the clock alone (scheduled -> published,
    -- published -> expired); NULL when it never will.
    transition_at  INTEGER,
    first_seen_at  INTEGER NOT NULL,
    changed_at     INTEGER NOT NULL,
    withdrawn_at   INTEGER,
    -- First time it was published (announced, or silently recorded during the
    -- baseline). Never cleared: an article is announced as 'published' at most once.
    announced_at   INTEGER,
    version        INTEGER NOT NULL DEFAULT 1,
    description    TEXT,
    takeaways      TEXT    NOT NULL DEFAULT '[]',  -- JSON list of strings
    takeaways_text TEXT    NOT NULL DEFAULT '',    -- the same, newline-joined, for FTS
    tags           TEXT    NOT NULL DEFAULT '[]',  -- JSON list, as written
    authors        TEXT    NOT NULL DEFAULT '[]',  -- JSON list
    image          TEXT,
    article_json   TEXT    NOT NULL,  -- enough to rebuild the Article
    message_json   TEXT    NOT NULL,  -- the rendered Create Message body
    UNIQUE (source_id, key),
    CHECK (status <> 'published' OR announced_at IS NOT NULL)
);

CREATE INDEX articles_latest ON articles (sort_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX articles_transition ON articles (transition_at) WHERE transition_at IS NOT NULL;
CREATE INDEX articles_withdrawn_file ON articles (source_id, file_hash)
    WHERE status = 'withdrawn';

CREATE TABLE article_tags (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_key    TEXT    NOT NULL,  -- normalise_tag(tag)
    tag        TEXT    NOT NULL,  -- as written (first spelling in the article)
    PRIMARY KEY (article_id, tag_key)
) WITHOUT ROWID;

CREATE INDEX article_tags_by_key ON article_tags (tag_key, article_id);

CREATE TABLE files (
    source_id    INTEGER NOT NULL REFERENCES sources (id),
    path         TEXT    NOT NULL,  -- POSIX, relative to the source folder
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    content_hash TEXT    NOT NULL,  -- hex hash of the file bytes
    article_id   INTEGER REFERENCES articles (id),
    -- Set when the file was rejected because another file owns its article id;
    -- the row is forgotten when that article is released, so the file is re-read.
    duplicate_of INTEGER REFERENCES articles (id),
    error        TEXT,
    recorded_at  INTEGER NOT NULL,
    PRIMARY KEY (source_id, path),
    CHECK (article_id IS NULL OR error IS NULL)
) WITHOUT ROWID;

CREATE UNIQUE INDEX files_article ON files (article_id) WHERE article_id IS NOT NULL;
CREATE INDEX files_duplicate ON files (duplicate_of) WHERE duplicate_of IS NOT NULL;

CREATE TABLE announcements (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('published', 'updated')),
    created_at INTEGER NOT NULL,
    done_at    INTEGER
);

CREATE INDEX announcements_pending ON announcements (id) WHERE done_at IS NULL;
CREATE INDEX announcements_pending_article ON announcements (article_id)
    WHERE done_at IS NULL;
-- The heart of the first-start and never-twice rules, enforced by the database too.
CREATE UNIQUE INDEX announcements_published_once ON announcements (article_id)
    WHERE kind = 'published';

-- Small settings the bot keeps between runs (e.g. the hash of the last slash
-- command registration), as text.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Full-text search over title, takeaways and description, external content. New
-- rows are indexed by the store's writer in one INSERT ... SELECT per batch (an
-- AFTER INSERT trigger costs ~50 us a row, half of a cold scan); updates and
-- deletes are kept in sync by the triggers below, whatever code path writes them.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title,
    takeaways_text,
    description,
    content = 'articles',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, takeaways_text, description)
    VALUES ('delete', old.id, old.title, old.takeaways_text, old.description);
END;

CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, takeaways_text, description
ON articles
WHEN old.title IS NOT new.title
    OR old.takeaways_text IS NOT new.takeaways_text
    OR old.description IS NOT new.description
BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, takeaways_text, description)
    VALUES ('delete', old.id, old.title, old.takeaways_text, old.description);
    INSERT INTO articles_fts (rowid, title, takeaways_text, description)
    VALUES (new.id, new.title, new.takeaways_text, new.description);
END;
