DROP TABLE IF EXISTS stream_rows;
CREATE TABLE stream_rows (id BIGSERIAL PRIMARY KEY, a INTEGER NOT NULL, b VARCHAR(20) NOT NULL);
INSERT INTO stream_rows (id, a, b) SELECT i, i % 1000, 'row ' || i FROM generate_series(1, 1000000) AS i;
