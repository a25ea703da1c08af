#!/usr/bin/env node
'use strict';

// Starts s3rver's own command line with one fix to its filesystem store.
//
// s3rver 3.7.1 lists and serves an object while its PUT is still streaming the body: the object
// file exists before its MD5 and metadata files. A GET or LIST in that window hashes the partial
// body and saves that hash as the object's MD5. If that save lands after the PUT saved the real
// MD5, the object keeps a wrong ETag forever and every later GET fails the SDK's body check. S3
// never shows an object before its PUT completes. So an object whose metadata file (the last file
// a PUT, copy or multipart completion writes) is not there yet is treated as absent, as S3 would.
// Overwrites can still show a new body with the old MD5 for a moment; readers retry that.

const fs = require('fs-extra');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

const getMetadata = FilesystemStore.prototype.getMetadata;
FilesystemStore.prototype.getMetadata = async function getCompleteMetadata(bucket, key) {
  // Throws ENOENT, which every caller already reads as "no such object".
  await fs.stat(this.getResourcePath(bucket, key, 'metadata.json'));
  return getMetadata.call(this, bucket, key);
};

require('s3rver/bin/s3rver.js');
