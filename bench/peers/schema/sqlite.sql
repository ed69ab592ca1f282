-- The peers' schema and data on SQLite (see ../README.md). Statements end with ";" at a line end.
DROP TABLE IF EXISTS comments;
DROP TABLE IF EXISTS posts;
DROP TABLE IF EXISTS users;
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    email VARCHAR(100) NOT NULL,
    age INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    title VARCHAR(100) NOT NULL
);
CREATE INDEX ix_posts_user_id ON posts (user_id);
CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts (id),
    body VARCHAR(100) NOT NULL
);
CREATE INDEX ix_comments_post_id ON comments (post_id);
INSERT INTO users (id, name, email, age, created_at)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
    SELECT i, 'user ' || i, 'user' || i || '@example.com', 18 + i % 60,
           datetime('2024-01-01 00:00:00', '+' || i || ' seconds')
    FROM n;
INSERT INTO posts (id, user_id, title)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
    SELECT i, (i - 1) / 10 + 1, 'post ' || i FROM n;
INSERT INTO comments (id, post_id, body)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
    SELECT i, (i - 1) / 10 + 1, 'comment ' || i FROM n;
ANALYZE;
