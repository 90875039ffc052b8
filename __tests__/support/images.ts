/** Test images: local builds by default (scripts/build-test-images.sh); Docker Hub images on a laptop. */
export const BUSYBOX_IMAGE = process.env.CP_TEST_BUSYBOX_IMAGE ?? 'local/busybox:latest';
export const POSTGRES_IMAGE = process.env.CP_TEST_POSTGRES_IMAGE ?? 'local/postgres:15';
/** Redis 7 whose entry point takes `redis-server ARGS` from the compose `command:` (as the official one). */
export const REDIS_IMAGE = process.env.CP_TEST_REDIS_IMAGE ?? 'local/redis:7';
/** MariaDB 10.11 that initialises an empty datadir and lets `mariadb -uroot` in over the socket. */
export const MARIADB_IMAGE = process.env.CP_TEST_MARIADB_IMAGE ?? 'local/mariadb:10.11';
/** A python3 app keeping orders in SQLite (WAL mode) at /data/shop.db, closing it on SIGTERM (scripts/images/sqlite-app.py). */
export const SQLITE_IMAGE = process.env.CP_TEST_SQLITE_IMAGE ?? 'local/sqlite-app:1';

/** The example stacks read their images from these variables. */
process.env.CP_POSTGRES_IMAGE = POSTGRES_IMAGE;
process.env.CP_REDIS_IMAGE = REDIS_IMAGE;
process.env.CP_MARIADB_IMAGE = MARIADB_IMAGE;
process.env.CP_SQLITE_IMAGE = SQLITE_IMAGE;
process.env.CP_BUSYBOX_IMAGE = BUSYBOX_IMAGE;
