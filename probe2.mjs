import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import fs from 'node:fs';
let syncs = 0, dsyncs=0;
class DurableNodeFS extends NodeFS {
  async init(pg, opts) {
    const r = await super.init(pg, opts);
    r.emscriptenOpts.preRun.unshift((mod) => {
      const ops = mod.NODEFS.stream_ops;
      ops.fsync = (stream) => { syncs++; fs.fsyncSync(stream.nfd); return 0; };
    });
    return r;
  }
}
let t = Date.now();
const mem = await PGlite.create();
console.log('mem start', Date.now()-t);
t = Date.now();
const dir = '/tmp/pgl-probe'; fs.rmSync(dir, {recursive:true, force:true});
const start = process.argv[2] === 'durable' ? ["--single","-O","-j","-c","wal_sync_method=fsync","-c","search_path=public","-c","exit_on_error=false","-c","log_checkpoints=false","-c","max_worker_processes=0","-c","max_parallel_workers=0","-c","max_parallel_workers_per_gather=0","-c","io_method=sync","-c","max_parallel_maintenance_workers=0"] : undefined;
const db = await PGlite.create({ fs: new DurableNodeFS(dir), startParams: start });
console.log('disk start', Date.now()-t);
console.log((await db.query("show fsync")).rows, (await db.query("show wal_sync_method")).rows, (await db.query("show synchronous_commit")).rows, (await db.query("show full_page_writes")).rows);
await db.exec('create table t(a int, b text)');
syncs=0; t=Date.now();
for (let i=0;i<100;i++) await db.query('insert into t values ($1,$2)', [i, 'x']);
console.log('100 inserts ms', Date.now()-t, 'syncs', syncs);
syncs=0; await db.exec("checkpoint"); console.log("ckpt syncs", syncs); syncs=0; await db.close(); console.log("close syncs", syncs); const db2 = await PGlite.create({ fs: new DurableNodeFS(dir), startParams: start }); console.log((await db2.query("select count(*) from t")).rows); await db2.close();
