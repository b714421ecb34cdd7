// The report's fixture keeps the shape of the replication's artifacts (schemas/*.schema.json), and the report
// reads the artifacts the real stages write (tiny dataset through lag; estimate needs more data, so models
// come from the fixture).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot, runTinyThroughLag, validateArtifact } from '../replication/helpers.js';
import { buildReplicationReport } from '../../src/report/replication/build.js';
import { asPublished } from '../../src/report/replication/published.js';

const fixture = (name: string) => JSON.parse(readFileSync(join(projectRoot, 'test/fixtures/report', `${name}.json`), 'utf8'));
const published = asPublished(JSON.parse(readFileSync(join(projectRoot, 'data/paper/published.json'), 'utf8')), 'data/paper/published.json');

describe('report inputs', () => {
  it('the fixture artifacts validate against the replication schemas', () => {
    const pairs = [['panel', 'panel'], ['ingest_report', 'ingest-report'], ['groups', 'groups'], ['spillovers', 'spillovers'], ['design', 'design'], ['models', 'models']];
    for (const [file, schema] of pairs) expect(() => validateArtifact(`schemas/${schema}.schema.json`, fixture(file))).not.toThrow();
  });

  it('builds a report from the artifacts the real stages write', async () => {
    const a = await runTinyThroughLag();
    const built = await buildReplicationReport({ ...a, models: fixture('models') }, published, {});
    expect(built.data.panel.length).toBe(a.panel.rows.length);
    expect(built.data.publicationRecords).toBe(a.ingest_report.publications.rows_used);
    expect(built.data.variables.map((v) => v.name)).toEqual(published.table3_variables);
    expect(built.files['index.html']).toContain('<section id="table3" class="item">');
    expect(built.files['tables/table1.md']).toContain('Leading regions');
  });
});
