// Starts `portcullis server` for Rust, TOML and deployment files, and passes the `portcullis.*` settings to it
// (as initializationOptions, and again whenever they change).
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function options() {
  const c = vscode.workspace.getConfiguration("portcullis");
  const list = (key) => c.get(key) || [];
  return {
    select: list("select"),
    ignore: list("ignore"),
    rules: list("rules"),
    config: c.get("config") || null,
    "cache-dir": c.get("cacheDir") || null,
  };
}

async function activate(context) {
  const command = vscode.workspace.getConfiguration("portcullis").get("path") || "portcullis";
  client = new LanguageClient(
    "portcullis",
    "portcullis",
    { command, args: ["server"] },
    {
      documentSelector: [
        { scheme: "file", language: "rust" },
        { scheme: "file", language: "toml" },
        // Deployment files: the environment they give a service decides where it listens.
        { scheme: "file", pattern: "**/{Dockerfile,Dockerfile.*,*.Dockerfile,*.yml,*.yaml}" },
      ],
      initializationOptions: options(),
    }
  );
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("portcullis")) {
        client.sendNotification("workspace/didChangeConfiguration", {
          settings: { portcullis: options() },
        });
      }
    })
  );
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
