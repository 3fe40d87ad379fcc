"""pandas DataFrames of figures (pandas is optional: imported only when asked for)."""

from __future__ import annotations

from typing import Any, Iterable, List

from .generated.coop.v1 import cooperation_pb2 as pb

COLUMNS = ["indicator", "origin", "destination", "breakdown", "period_start", "period_end", "value", "value_high",
           "unit_multiplier", "unit", "qualifier", "status", "vintage", "source_id", "locator", "id", "note"]


def _row(o: Any) -> List[Any]:
    """An observation as one row; enums by name (without their prefix) and the breakdown as "key=value,..."."""
    return [o.indicator, o.origin, o.destination, ",".join(f"{d.key}={d.value}" for d in o.breakdown),
            o.period_start, o.period_end, o.value, o.value_high or None, o.unit_multiplier, o.unit,
            pb.Qualifier.Name(o.qualifier).removeprefix("QUALIFIER_"),
            pb.ObservationStatus.Name(o.status).removeprefix("OBSERVATION_STATUS_"),
            o.vintage, o.source_id or None, o.locator, o.id, o.note]


def to_dataframe(message: Any) -> Any:
    """A Series, a ListObservationsResponse, or observations as a DataFrame, one figure a row.

    For a Series the rows follow its points (one per period, the latest vintage); period_start and period_end
    stay strings, since coopd's dates may be partial ("2023" or "2023-10").
    """
    try:
        import pandas
    except ImportError:
        raise ImportError("to_dataframe needs pandas: pip install 'coopclient[pandas]'") from None
    observations: Iterable[Any]
    if isinstance(message, pb.Series):
        observations = [p.observation for p in message.points]
    elif isinstance(message, (pb.ListObservationsResponse, pb.AddObservationsResponse)):
        observations = message.observations
    elif isinstance(message, pb.Observation):
        observations = [message]
    else:
        observations = message
    return pandas.DataFrame([_row(o) for o in observations], columns=COLUMNS)
