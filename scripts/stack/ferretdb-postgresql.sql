-- FerretDB 1.x on PostgreSQL, made fit for skyferry: indexes for the filters it pushes down, and
-- single-document atomic updates.
--
-- FerretDB 1.x stores each document in one jsonb column (`_jsonb`) and pushes an equality filter
-- `{field: value}` down as `_jsonb->'field' @> '<value>'`. The indexes it creates for MongoDB's
-- `createIndexes` (and for `_id`) are btree indexes over `(_jsonb->'field')`, which cannot serve `@>`:
-- every find and update then scans the whole table. This event trigger adds, for every field of every
-- index FerretDB creates, a GIN index over the same expression (jsonb_path_ops), which serves `@>`.
-- So the indexes the services declare in MongoDB terms (packages/db) are the ones that serve their
-- queries here too; nothing else is indexed. Measured: scripts/stack/README or `npm run bench:db`.
--
-- `plan_cache_mode = force_custom_plan`: FerretDB sends `_jsonb->$1 @> $2` as a prepared statement;
-- a generic plan cannot match `$1` to an index expression, a custom plan (parameters bound) can.
--
-- Applied by scripts/stack.sh to the stack's database, right after `initdb`; idempotent.

-- Single-document atomicity. FerretDB 1.x updates a document by reading it, changing it in Go and
-- writing it back by `_id`, the read and the write in separate statements. Two concurrent updates
-- of one document then both "succeed" and one is lost (measured: 50 concurrent `$inc` -> 9; 13 of
-- 20 concurrent `{state: "queued"} -> running` updates won). @skyferry/db (`withConflictRetry`)
-- adds a random step to `_rev` with every update (`$inc`) and records the step in `_rev_step`;
-- this trigger refuses a write that changes `_rev` to anything but the stored value plus that
-- step -- a write computed from a stale read -- with SQLSTATE 40001 (serialization failure),
-- which changes nothing and which @skyferry/db sends again. So `$inc` and conditional updates are
-- atomic, as on MongoDB. A write that leaves `_rev` as it is (another client: mongosh, a
-- migration, a replacement) is not checked.
CREATE OR REPLACE FUNCTION skyferry_ferretdb_rev_check() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW._jsonb ? '_rev'
     AND (NEW._jsonb ->> '_rev')::numeric IS DISTINCT FROM (OLD._jsonb ->> '_rev')::numeric
     AND (NEW._jsonb ->> '_rev')::numeric IS DISTINCT FROM
         coalesce((OLD._jsonb ->> '_rev')::numeric, 0) + coalesce((NEW._jsonb ->> '_rev_step')::numeric, 1) THEN
    RAISE EXCEPTION 'document % was changed by another writer since it was read', OLD._jsonb -> '_id'
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE OR REPLACE FUNCTION skyferry_gin_for_ferretdb_index() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  cmd record;
  ix record;
  field text;
  gin_name text;
BEGIN
  FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE INDEX' LOOP
    SELECT c.relname AS index_name, t.oid::regclass AS table_name, t.relname AS table_rel,
           n.nspname AS schema_name, pg_get_indexdef(i.indexrelid) AS def, am.amname AS method
      INTO ix
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      JOIN pg_am am ON am.oid = c.relam
     WHERE i.indexrelid = cmd.objid;
    -- Only FerretDB's own btree indexes over `_jsonb -> 'field'` (ours are GIN: no recursion).
    CONTINUE WHEN ix IS NULL OR ix.method <> 'btree' OR ix.def NOT LIKE '%_jsonb -> %';
    -- A new collection's table gets its `_id` index first: the `_rev` check goes on with it.
    IF ix.def LIKE '%UNIQUE%(_jsonb -> ''_id''::text)%' AND ix.table_rel <> '_ferretdb_database_metadata'
       AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = ix.table_name AND tgname = 'skyferry_rev_check') THEN
      EXECUTE format('CREATE TRIGGER skyferry_rev_check BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION skyferry_ferretdb_rev_check()', ix.table_name);
    END IF;
    FOR field IN SELECT m[1] FROM regexp_matches(ix.def, '\(_jsonb -> ''([^'']+)''::text\)', 'g') AS m LOOP
      gin_name := left(ix.table_rel, 40) || '_' || left(md5(field), 8) || '_gin';
      IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE c.relname = gin_name AND n.nspname = ix.schema_name) THEN
        EXECUTE format('CREATE INDEX %I ON %s USING gin ((_jsonb -> %L) jsonb_path_ops)', gin_name, ix.table_name, field);
      END IF;
    END LOOP;
  END LOOP;
END
$fn$;

DROP EVENT TRIGGER IF EXISTS skyferry_gin_for_ferretdb;
CREATE EVENT TRIGGER skyferry_gin_for_ferretdb ON ddl_command_end
  WHEN TAG IN ('CREATE INDEX')
  EXECUTE FUNCTION skyferry_gin_for_ferretdb_index();

ALTER DATABASE ferretdb SET plan_cache_mode = force_custom_plan;
