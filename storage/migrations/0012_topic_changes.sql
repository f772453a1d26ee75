-- A counter that every change of the followed topics moves on. Each process of several
-- sharing one database matches posts against topics in memory; it rebuilds that index
-- when the counter has moved since it read the topics.
CREATE TABLE topic_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO topic_changes (id, version) VALUES (1, 0);
