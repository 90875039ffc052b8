CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, qty int NOT NULL);
INSERT INTO orders (item, qty) SELECT 'item-' || g, g % 7 + 1 FROM generate_series(1, 1000) AS g;
