// Validate one .glb/.gltf file with the Khronos glTF validator and print its report as JSON.
// Usage: node validate_gltf.js FILE   (gltf-validator must be on NODE_PATH)
// Exit status: 0 the report was printed, 3 gltf-validator is not installed, 1 another failure.
'use strict';
const fs = require('fs');

let validator;
try {
  validator = require('gltf-validator');
} catch (err) {
  process.stderr.write('gltf-validator is not installed: ' + err.message + '\n');
  process.exit(3);
}

const path = process.argv[2];
validator.validateBytes(new Uint8Array(fs.readFileSync(path)), {uri: path, maxIssues: 200})
  .then((report) => {
    process.stdout.write(JSON.stringify(report.issues) + '\n');
  })
  .catch((err) => {
    process.stderr.write(String(err) + '\n');
    process.exit(1);
  });
