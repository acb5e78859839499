// Uploads one file with tus-js-client under Node, exactly as an application would, and prints one JSON
// line: {"url", "assetId", "offset"} on success, {"error"} on failure. Driven by test_tus_clients.py.
// Usage: node tus_js_upload.js <endpoint> <api key> <file> <chunk size or 0> [stop after bytes]
const fs = require("fs");
const tus = require("tus-js-client");

const [endpoint, key, path, chunkText, stopText] = process.argv.slice(2);
const chunkSize = Number(chunkText) || Infinity;
const stopAfter = Number(stopText) || 0;
let assetId = null;
let resumeUrl = process.env.TUS_RESUME_URL || null;

const upload = new tus.Upload(fs.createReadStream(path), {
  endpoint,
  uploadUrl: resumeUrl,
  chunkSize,
  headers: { Authorization: `Bearer ${key}` },
  metadata: { filename: require("path").basename(path), modified_at: "2023-05-06T07:08:09Z" },
  retryDelays: [0, 200, 500],
  removeFingerprintOnSuccess: true,
  onAfterResponse(req, res) {
    assetId = res.getHeader("Phonecloud-Asset-Id") || assetId;
  },
  onProgress(sent) {
    if (stopAfter && sent >= stopAfter) {
      upload.abort().then(() => {
        console.log(JSON.stringify({ url: upload.url, stopped: sent }));
        process.exit(0);
      });
    }
  },
  onError(error) {
    console.log(JSON.stringify({ error: String(error) }));
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url, assetId, offset: upload._offset }));
  },
});
upload.start();
