// Runs the store conformance suite against PostgreSQL (PETREL_TEST_PG_URL); fails if it is set but down.
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import { runStoreSuite } from '../conformance/suite.ts';
import { openSqlStore } from '../sql/store.ts';
import { openPostgres } from './driver.ts';

const url = pgTestUrl();
runStoreSuite(
  'postgres',
  async () => {
    const schema = await freshPgSchema(url!);
    return {
      open: () => openSqlStore(openPostgres({ url: schema.url })),
      openSecond: () => openSqlStore(openPostgres({ url: schema.url })),
      cleanup: () => schema.drop(),
    };
  },
  url ? undefined : PG_SKIP_REASON,
);
