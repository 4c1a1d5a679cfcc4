#!/usr/bin/env python3
import json, os, subprocess, sys, tempfile, time
# Runs rust-analyzer as an editor would, with portcullis as its check command, on a throwaway package,
# and waits for a portcullis diagnostic to be published. Usage: python3 .ci/rust-analyzer-check.py PORTCULLIS
exe = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/portcullis")
root = tempfile.mkdtemp()
os.makedirs(root + "/src")
open(root + "/Cargo.toml", "w").write('[package]\nname = "ratest"\nversion = "0.1.0"\nedition = "2021"\n')
open(root + "/src/main.rs", "w").write('fn main() {\n    let arg = std::env::args().nth(1).unwrap_or_default();\n    let _ = std::process::Command::new("sh").arg("-c").arg(format!("echo {arg}")).status();\n}\n')
cmd = ["sh", "-c", exe + " check . --format rustc-json --exit-zero"]
p = subprocess.Popen(["rust-analyzer"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root)
def send(msg):
    b = json.dumps(msg).encode()
    p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(b) + b); p.stdin.flush()
def read():
    headers = {}
    while True:
        line = p.stdout.readline()
        if line in (b"\r\n", b""): break
        k, v = line.decode().split(":", 1); headers[k.lower()] = v.strip()
    n = int(headers.get("content-length", 0))
    return json.loads(p.stdout.read(n)) if n else None
uri = "file://" + root + "/src/main.rs"
send({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":os.getpid(),"rootUri":"file://"+root,"capabilities":{"textDocument":{"publishDiagnostics":{}}},
  "initializationOptions":{"check":{"overrideCommand":cmd},"checkOnSave":True,"cargo":{"buildScripts":{"enable":False}},"procMacro":{"enable":False}}}})
deadline = time.time() + 120
opened = False
while time.time() < deadline:
    m = read()
    if m is None: break
    if m.get("id") == 1 and not opened:
        send({"jsonrpc":"2.0","method":"initialized","params":{}})
        text = open(root+"/src/main.rs").read()
        send({"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":uri,"languageId":"rust","version":1,"text":text}}})
        send({"jsonrpc":"2.0","method":"textDocument/didSave","params":{"textDocument":{"uri":uri}}})
        opened = True
    if "id" in m and "method" in m:  # server request
        send({"jsonrpc":"2.0","id":m["id"],"result":None})
    if m.get("method") == "textDocument/publishDiagnostics":
        ds = m["params"]["diagnostics"]
        hits = [d for d in ds if d.get("source") == "portcullis"]
        if hits:
            for d in hits:
                print("RA diagnostic:", d["range"]["start"], d.get("severity"), d.get("code"), d["message"][:100])
            p.kill(); sys.exit(0)
print("no portcullis diagnostic seen"); p.kill(); sys.exit(1)
