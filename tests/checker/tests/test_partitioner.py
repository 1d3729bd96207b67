"""murmur2 against Kafka's own test vectors and an unrelated implementation (kafka-python)."""

import random

from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from xbanku_check.partitioner import murmur2, partition_of


def signed(h: int) -> int:
    return h - 2**32 if h >= 2**31 else h


def test_kafka_utils_test_vectors():
    # org.apache.kafka.common.utils.UtilsTest#testMurmur2
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        bytes([ord("a"), ord("b"), ord("c")]): 479470107,
    }
    for key, expected in vectors.items():
        assert signed(murmur2(key)) == expected, key


def test_agrees_with_kafka_python_on_every_tail_length():
    rng = random.Random(7)
    for n in range(0, 80):
        data = bytes(rng.getrandbits(8) for _ in range(n))
        assert murmur2(data) == kafka_python_murmur2(data) & 0xFFFFFFFF


def test_partition_of_uses_the_positive_hash():
    acc = "38972289-a942-4b00-930e-ad4f00a68e8e"  # placed in partition 0 of 6 by xbanku
    assert partition_of(acc, 6) == 0
    assert partition_of(acc, 1) == 0
