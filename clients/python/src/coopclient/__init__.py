"""coopd's Python client: a blocking ttrpc client over coopd's Unix socket, with typed messages.

    import coopclient
    with coopclient.Client() as client:
        series = client.get_series(indicator="JP_MHLW_FOREIGN_WORKERS", origin="VN", destination="JP")
        print(coopclient.to_dataframe(series))
"""

from .client import Client, Stream
from .dataframe import to_dataframe
from .discovery import locate as locate_socket
from .generated.coop.v1 import cooperation_pb2, diagnostics_pb2
from .generated.grpc.health.v1 import health_pb2
from .generated.methods import METHODS, Method
from .status import RPCError, StatusCode

__all__ = ["Client", "Stream", "RPCError", "StatusCode", "to_dataframe", "locate_socket", "METHODS", "Method",
           "cooperation_pb2", "diagnostics_pb2", "health_pb2"]
__version__ = "0.1.0"
