#!/usr/bin/env node
'use strict';

// Starts s3rver's own command line with three fixes to its filesystem store.

const crypto = require('crypto');
const fs = require('fs-extra');
const path = require('path');
const { Readable } = require('stream');
const { pipeline } = require('stream/promises');
const { sortBy } = require('lodash');
const S3Error = require('s3rver/lib/models/error');
const S3Object = require('s3rver/lib/models/object');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

// 1. An object is hidden until its PUT completes.
//
// s3rver 3.7.1 lists and serves an object while its PUT is still streaming the body: the object
// file exists before its MD5 and metadata files. A GET or LIST in that window hashes the partial
// body and saves that hash as the object's MD5. If that save lands after the PUT saved the real
// MD5, the object keeps a wrong ETag forever and every later GET fails the SDK's body check. S3
// never shows an object before its PUT completes. So an object whose metadata file (the last file
// a PUT, copy or multipart completion writes) is not there yet is treated as absent, as S3 would.
// Overwrites can still show a new body with the old MD5 for a moment; readers retry that.
const getMetadata = FilesystemStore.prototype.getMetadata;
FilesystemStore.prototype.getMetadata = async function getCompleteMetadata(bucket, key) {
  // Throws ENOENT, which every caller already reads as "no such object".
  await fs.stat(this.getResourcePath(bucket, key, 'metadata.json'));
  return getMetadata.call(this, bucket, key);
};

// 2. A PUT or an uploaded part is answered only once every byte is in its file.
//
// s3rver 3.7.1's putObject and putPart pipe the body through an MD5 transform into a file stream
// and go on when the transform finishes, not the file stream: the last writes (64 KiB or more,
// more on a loaded machine) are still queued when the metadata is saved and the reply sent. A
// HEAD or GET right after the PUT then sees a short file under the whole body's size and MD5, and
// a multipart completion can read a part before its tail is written. Errors of the file stream
// and a client's aborted body are not handled either: the request hangs and a half-written file
// stays. Here the body goes to a temporary file through stream.pipeline, which settles only when
// the file stream has finished (or anything failed, when it removes the file), and is renamed
// into place, so a replaced object or part is swapped whole and a retried part cannot interleave
// with an attempt that is still writing.
async function writeWhole(filePath, content) {
  const temporary = `${filePath}.${crypto.randomBytes(8).toString('hex')}.partial`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  try {
    await pipeline(
      Buffer.isBuffer(content) ? Readable.from([content]) : content,
      async function* hash(chunks) {
        for await (const chunk of chunks) {
          md5.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      fs.createWriteStream(temporary),
    );
    await fs.rename(temporary, filePath);
  } catch (err) {
    await fs.remove(temporary);
    throw err;
  }
  return { size, md5: md5.digest('hex') };
}

FilesystemStore.prototype.putObject = async function putWholeObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await fs.mkdirp(path.dirname(objectPath));
  const written = await writeWhole(objectPath, object.content);
  await this.putMetadata(object.bucket, object.key, object.metadata, written.md5);
  return written;
};

FilesystemStore.prototype.putPart = async function putWholePart(bucket, uploadId, partNumber, content) {
  const partPath = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, partNumber.toString());
  await fs.mkdirp(path.dirname(partPath));
  const written = await writeWhole(partPath, content);
  await fs.writeFile(`${partPath}.md5`, written.md5);
  return written;
};

// 3. A multipart completion assembles exactly the parts it names, or fails with InvalidPart.
//
// s3rver 3.7.1 ignores the ETags a CompleteMultipartUpload names and concatenates whatever part
// files exist, and its concatenation drops read errors, so a missing part hangs the request. S3
// refuses a completion naming a part that was not uploaded or whose ETag differs with 400
// InvalidPart (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html).
FilesystemStore.prototype.putObjectMultipart = async function putCheckedMultipart(bucket, uploadId, parts) {
  const uploadDir = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const [key, metadata] = await Promise.all([
    fs.readFile(path.join(uploadDir, 'key'), 'utf8'),
    fs.readFile(path.join(uploadDir, 'metadata')).then(JSON.parse),
  ]);
  const ordered = sortBy(parts, part => part.number);
  for (const part of ordered) {
    const stored = await fs.readFile(path.join(uploadDir, `${part.number}.md5`), 'utf8').catch(() => null);
    if (stored !== part.etag) {
      throw new S3Error(
        'InvalidPart',
        'One or more of the specified parts could not be found. The part may not have been uploaded, ' +
          "or the specified entity tag may not match the part's entity tag.",
        { UploadId: uploadId, PartNumber: part.number, ETag: part.etag },
      );
    }
  }
  async function* concatenated() {
    for (const part of ordered) {
      yield* fs.createReadStream(path.join(uploadDir, part.number.toString()));
    }
  }
  const result = await this.putObject(new S3Object(bucket, key, Readable.from(concatenated()), metadata));
  await fs.remove(uploadDir);
  return result;
};

require('s3rver/bin/s3rver.js');
