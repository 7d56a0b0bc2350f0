-- Indexes FerretDB 1.x on PostgreSQL can use for the equality filters it pushes down.
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
