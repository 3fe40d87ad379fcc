#!/usr/bin/env python3
"""Notebook-style: the MHLW count of Vietnamese workers in Japan (VN -> JP), from a running coopd.

    python3 clients/python/examples/mhlw_series.py [SOCKET]

Without SOCKET the socket is found as coopctl finds it ($COOP_SOCKET, /run/coopd, the per-user default).
"""

import sys

import coopclient

client = coopclient.Client(sys.argv[1] if len(sys.argv) > 1 else None, timeout=10)

# %% The series: one point per period, the latest published value of each.
series = client.get_series(indicator="JP_MHLW_FOREIGN_WORKERS", origin="VN", destination="JP")
print(f"{series.indicator.name} ({series.indicator.compiler}), {series.origin} -> {series.destination}")
for point in series.points:
    o = point.observation
    print(f"  {point.period_end:<10}  {o.value:>9,} {o.unit}  (published {o.vintage or '?'})")

# %% Where the figures come from.
for source in series.sources:
    print(f"  [{source.id}] {source.publisher}: {source.title} {source.url}")

# %% As a DataFrame, when pandas is installed.
try:
    frame = coopclient.to_dataframe(series)
except ImportError:
    print("(pip install pandas for the DataFrame view)")
else:
    print(frame[["period_end", "value", "unit", "vintage", "source_id"]].to_string(index=False))

client.close()
