-- The business's locations: each has a public complaint book (`/f/{slug}`) and its own time zone.
-- A case's `location` holds the slug of one when it came through that location's book; text
-- from older cases or an integration is kept as written and can be matched to one later.
CREATE TABLE locations (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    address     TEXT,
    time_zone   TEXT,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);

-- Values every node shares, made once (the key that signs the public forms' fill-time tokens).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
