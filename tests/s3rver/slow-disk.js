'use strict';

// A test double for the disk of a loaded machine, preloaded (`node --require`) by the tests that
// need it: every write of a file stream reaches the file S3RVER_WRITE_DELAY_MS milliseconds late,
// so bytes a server has queued but not yet written stay unwritten long enough for a client's next
// request to find them missing.

const fs = require('fs');

const delay = Number(process.env.S3RVER_WRITE_DELAY_MS);
if (!(delay > 0)) {
  throw new Error(`slow-disk.js needs S3RVER_WRITE_DELAY_MS > 0, not '${process.env.S3RVER_WRITE_DELAY_MS}'`);
}

for (const method of ['_write', '_writev']) {
  const write = fs.WriteStream.prototype[method];
  fs.WriteStream.prototype[method] = function writeSlowly(...args) {
    setTimeout(() => write.apply(this, args), delay);
  };
}
