// Unit tests run in Node: Node 18 (Debian 12's) has Web Crypto only as node:crypto's webcrypto.
import { webcrypto } from "node:crypto";

if (!globalThis.crypto) Object.defineProperty(globalThis, "crypto", { value: webcrypto, configurable: true });
