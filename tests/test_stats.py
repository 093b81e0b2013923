import math

from lora_companion.stats import loglog_slope


def test_loglog_slope_recovers_power_laws():
    assert math.isclose(loglog_slope([1, 4, 16], [1, 0.5, 0.25]), -0.5)
    assert math.isclose(loglog_slope([2, 3, 5, 7], [3 * v ** 1.7 for v in (2, 3, 5, 7)]), 1.7)


def test_loglog_slope_is_nan_for_values_without_a_logarithm():
    assert math.isnan(loglog_slope([1, 2, 4], [1.0, 0.0, 2.0]))
    assert math.isnan(loglog_slope([1, 2, 4], [1.0, float("inf"), 2.0]))
