"""The benchmark models of benches/models/*.ron (mm1, mm4, web) and topologies/three-tier.ron, written in
SimPy 4.1.2 the way a SimPy user would write them, for a side-by-side speed comparison
and a cross-check of the numbers (mean latency)."""

import math
import random

import simpy


def mm1(env, rng, n_requests, latencies, servers=1, rate=0.9, mean_service=1.0):
    server = simpy.Resource(env, capacity=servers)

    def customer():
        created = env.now
        with server.request() as slot:
            yield slot
            yield env.timeout(rng.expovariate(1.0 / mean_service))
        latencies.append(env.now - created)

    def source():
        for _ in range(n_requests):
            yield env.timeout(rng.expovariate(rate))
            env.process(customer())

    env.process(source())


def mm4(env, rng, n_requests, latencies):
    mm1(env, rng, n_requests, latencies, servers=4, rate=3.6)


def lognormal(rng, mean, sd):
    sigma2 = math.log1p((sd * sd) / (mean * mean))
    return rng.lognormvariate(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2))


def three_tier(env, rng, n_requests, latencies):
    """Poisson 800/s, 90 % reads; a least-connections balancer (100 us) over 4 app
    instances of 8 workers; the app works Exp(4 ms), calls the database (16 workers,
    LogNormal by class) over a 200-600 us link, then works Exp(1 ms)."""
    apps = [simpy.Resource(env, capacity=8) for _ in range(4)]
    outstanding = [0] * 4
    db = simpy.Resource(env, capacity=16)
    rr = [0]

    def request(is_read):
        created = env.now
        yield env.timeout(0.002)  # client to balancer
        yield env.timeout(0.0001)  # balancer processing
        start = rr[0]
        rr[0] = (rr[0] + 1) % 4
        target = min(((start + k) % 4 for k in range(4)), key=lambda i: outstanding[i])
        outstanding[target] += 1
        with apps[target].request() as worker:
            yield worker
            yield env.timeout(rng.expovariate(1 / 0.004))
            yield env.timeout(rng.uniform(0.0002, 0.0006))
            with db.request() as connection:
                yield connection
                if is_read:
                    yield env.timeout(lognormal(rng, 0.005, 0.003))
                else:
                    yield env.timeout(lognormal(rng, 0.012, 0.006))
            yield env.timeout(rng.uniform(0.0002, 0.0006))
            yield env.timeout(rng.expovariate(1 / 0.001))
        outstanding[target] -= 1
        yield env.timeout(0.002)  # back to the client
        latencies.append(env.now - created)

    def source():
        for _ in range(n_requests):
            yield env.timeout(rng.expovariate(800.0))
            env.process(request(rng.random() < 0.9))

    env.process(source())


def web(env, rng, n_requests, latencies):
    """benches/models/web.ron: Poisson 800/s into a zero-time round-robin balancer over 4
    single-worker apps (Exp 4 ms); each hands the request on to a cache (8 workers, Exp
    200 us) with probability 0.7, else to a database (16 workers, LogNormal 10 ms / 5 ms)."""
    apps = [simpy.Resource(env, capacity=1) for _ in range(4)]
    cache = simpy.Resource(env, capacity=8)
    db = simpy.Resource(env, capacity=16)
    rr = [0]

    def request():
        created = env.now
        rr[0] = (rr[0] + 1) % 4
        with apps[rr[0]].request() as worker:
            yield worker
            yield env.timeout(rng.expovariate(1 / 0.004))
        if rng.random() < 0.7:
            with cache.request() as worker:
                yield worker
                yield env.timeout(rng.expovariate(1 / 0.0002))
        else:
            with db.request() as worker:
                yield worker
                yield env.timeout(lognormal(rng, 0.010, 0.005))
        latencies.append(env.now - created)

    def source():
        for _ in range(n_requests):
            yield env.timeout(rng.expovariate(800.0))
            env.process(request())

    env.process(source())


MODELS = {"mm1": mm1, "mm4": mm4, "three-tier": three_tier, "web": web}


def run(name, n_requests, seed=1):
    env = simpy.Environment()
    rng = random.Random(seed)
    latencies = []
    MODELS[name](env, rng, n_requests, latencies)
    env.run()
    return latencies
