-- A user's ids come from the (user_id, id) index: the next one is one
-- above the newest row's. Once the newest rows are deleted, id_floors
-- keeps the last id handed out, so that it is never handed out again. A
-- publish writes no counter row: each one was a page of a third per-user
-- B-tree written to the WAL per commit. Purge counts a user's rows when
-- it needs them.
DELETE FROM user_counters WHERE last_id <= coalesce(
    (SELECT max(id) FROM notifications n WHERE n.user_id = user_counters.user_id), 0);
ALTER TABLE user_counters DROP COLUMN total;
ALTER TABLE user_counters RENAME TO id_floors;
