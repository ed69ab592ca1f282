-- The peers' schema and data on PostgreSQL (see ../README.md). Statements end with ";" at a line end.
DROP TABLE IF EXISTS comments;
DROP TABLE IF EXISTS posts;
DROP TABLE IF EXISTS users;
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    email VARCHAR(100) NOT NULL,
    age INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE posts (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    title VARCHAR(100) NOT NULL
);
CREATE INDEX ix_posts_user_id ON posts (user_id);
CREATE TABLE comments (
    id BIGSERIAL PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts (id),
    body VARCHAR(100) NOT NULL
);
CREATE INDEX ix_comments_post_id ON comments (post_id);
INSERT INTO users (id, name, email, age, created_at)
    SELECT i, 'user ' || i, 'user' || i || '@example.com', 18 + i % 60,
           TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '1 second'
    FROM generate_series(1, 10000) AS i;
INSERT INTO posts (id, user_id, title)
    SELECT i, (i - 1) / 10 + 1, 'post ' || i FROM generate_series(1, 10000) AS i;
INSERT INTO comments (id, post_id, body)
    SELECT i, (i - 1) / 10 + 1, 'comment ' || i FROM generate_series(1, 10000) AS i;
SELECT setval(pg_get_serial_sequence('users', 'id'), 10000);
SELECT setval(pg_get_serial_sequence('posts', 'id'), 10000);
SELECT setval(pg_get_serial_sequence('comments', 'id'), 10000);
ANALYZE;
