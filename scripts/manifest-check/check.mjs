// Validates every object in the Kubernetes manifests given as arguments
// against the Kubernetes API schemas of kubernetes-models (no cluster and no
// network needed), and a Kustomization's own references: its resources exist
// and its images name a registry and a tag or digest. Exits 1 on any problem,
// naming the file, the object and the field.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

const problems = [];

async function modelOf(apiVersion, kind) {
  const path = apiVersion.includes("/")
    ? `kubernetes-models/${apiVersion}/${kind}`
    : `kubernetes-models/v1/${kind}`;
  try {
    const module = await import(path);
    return module[kind] ?? module.default;
  } catch {
    return undefined;
  }
}

function checkKustomization(file, object) {
  for (const resource of object.resources ?? []) {
    if (!existsSync(join(dirname(file), resource))) {
      problems.push(`${file}: resource ${resource} does not exist`);
    }
  }
  for (const image of object.images ?? []) {
    if (!image.name || !image.newName || !(image.newTag || image.digest)) {
      problems.push(`${file}: image ${JSON.stringify(image)} needs name, newName and newTag or digest`);
    }
  }
}

let checked = 0;
for (const file of process.argv.slice(2)) {
  const documents = parseAllDocuments(readFileSync(file, "utf8"));
  for (const document of documents) {
    if (document.errors.length > 0) {
      problems.push(`${file}: ${document.errors[0].message}`);
      continue;
    }
    const object = document.toJS();
    if (object === null || object === undefined) continue;
    const name = `${object.kind}/${object.metadata?.name ?? "(unnamed)"}`;
    if (object.kind === "Kustomization") {
      checkKustomization(file, object);
      checked += 1;
      continue;
    }
    const Model = await modelOf(object.apiVersion ?? "", object.kind ?? "");
    if (!Model) {
      problems.push(`${file}: ${name}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
      checked += 1;
    } catch (error) {
      problems.push(`${file}: ${name}: ${error.message}`);
    }
  }
}

for (const problem of problems) console.error(problem);
console.log(`manifest check: ${checked} objects valid, ${problems.length} problems`);
process.exit(problems.length === 0 && checked > 0 ? 0 : 1);
