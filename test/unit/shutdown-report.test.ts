import { describe, expect, it } from 'vitest';
import { runningJobsReport, unsavedUpdatesReport } from '../../src/shutdown-report.ts';

describe('shutdown reports', () => {
  it('names the documents with unsaved updates, largest first, and says what to do', () => {
    const report = unsavedUpdatesReport(new Map([['notes', 2], ['plan', 30]]), 'letting rooms unload');
    expect(report.stage).toBe('letting rooms unload');
    expect(report.summary).toMatch(/^32 updates to 2 documents were never committed: plan \(30\), notes \(2\)\. None was acknowledged/);
    expect(report.summary).toContain('send them again when they reconnect');
    expect(report.summary).toContain('Check that the database answers (DATABASE_URL)');
    expect(report.details).toEqual({ unsavedUpdates: { plan: 30, notes: 2 }, unsavedDocuments: 2, unsavedTotal: 32 });
    expect(unsavedUpdatesReport(new Map([['one', 1]]), 'x').summary).toMatch(/^1 update to 1 document was never committed: one \(1\)\./);
  });

  it('keeps the message short with many documents; the fields have them all', () => {
    const held = new Map(Array.from({ length: 25 }, (_, i) => [`doc-${i}`, i + 1] as const));
    const report = unsavedUpdatesReport(held, 'x');
    expect(report.summary).toContain('doc-24 (25)');
    expect(report.summary).toContain(', and 5 more.');
    expect(report.summary).not.toContain('doc-0 (1)');
    expect(Object.keys(report.details.unsavedUpdates as object)).toHaveLength(25);
  });

  it('says that nothing is lost when every update was committed', () => {
    expect(unsavedUpdatesReport(new Map(), 'closing the bus').summary).toMatch(/^Every accepted update had been committed, so no edit is lost\./);
  });

  it('names the jobs a worker left running', () => {
    expect(runningJobsReport([{ name: 'compact', id: '7' }], 'letting running jobs finish').summary).toMatch(/^1 job had not finished: compact 7\. It is not marked done/);
    expect(runningJobsReport([{ name: 'compact', id: '7' }, { name: 'webhook-deliver', id: undefined }], 'x').summary).toMatch(
      /^2 jobs had not finished: compact 7, webhook-deliver \(no id\)\. They are not marked done/,
    );
    expect(runningJobsReport([], 'closing the queues').summary).toMatch(/^No job was running/);
  });
});
