#!/usr/bin/env python3
"""WebSocket load for scripts/bench.sh: deposits over /ws.
  ws_load.py PORT ACCOUNTS_FILE throughput SECONDS [nowait] -> max rate with 256 in flight
                                                      (nowait: wait=false, answered once in Kafka)
  ws_load.py PORT ACCOUNTS_FILE latency RATE SECONDS -> fixed rate, latency percentiles
Prints one JSON object."""
import asyncio, json, sys, time
import websockets

async def main():
    port, accounts_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    accounts = [l.strip() for l in open(accounts_file) if l.strip()]
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=2**20) as ws:
        sent_at, latencies, errors, done = {}, [], 0, 0
        async def reader(expected):
            nonlocal errors, done
            while done < expected():
                msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                t = sent_at.pop(msg.get("id"), None)
                if t is None:
                    continue
                latencies.append(time.perf_counter() - t)
                errors += 0 if msg.get("ok") else 1
                done += 1
        n = 0
        if mode == "throughput":
            seconds = float(sys.argv[4]); window = 256
            extra = {"wait": False} if sys.argv[5:6] == ["nowait"] else {}
            total = [10**12]
            task = asyncio.create_task(reader(lambda: total[0]))
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                while n - done >= window:
                    await asyncio.sleep(0)
                sent_at[n] = time.perf_counter()
                await ws.send(json.dumps({"id": n, "op": "deposit", "account": accounts[n % len(accounts)], "amount": 1} | extra))
                n += 1
            total[0] = n
            await asyncio.wait_for(task, 60)
            elapsed = time.perf_counter() - start
            print(json.dumps({"commands": n, "errors": errors, "seconds": round(elapsed, 3),
                              "commands_per_s": round(n / elapsed)}))
        else:
            rate, seconds = float(sys.argv[4]), float(sys.argv[5])
            count = int(rate * seconds)
            task = asyncio.create_task(reader(lambda: count))
            start = time.perf_counter()
            for n in range(count):
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent_at[n] = time.perf_counter()
                await ws.send(json.dumps({"id": n, "op": "deposit", "account": accounts[n % len(accounts)], "amount": 1}))
            await asyncio.wait_for(task, 60)
            lat = sorted(latencies)
            pct = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 3)
            print(json.dumps({"commands": count, "errors": errors, "rate": rate,
                              "p50_ms": pct(0.5), "p99_ms": pct(0.99), "p999_ms": pct(0.999)}))

asyncio.run(main())
