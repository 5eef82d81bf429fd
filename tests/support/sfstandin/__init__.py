"""A protocol-faithful Salesforce stand-in server for the test suite (see the contract, §10)."""

from sfstandin.faults import Fault
from sfstandin.requestlog import LoggedRequest
from sfstandin.server import StandIn, running_standin

__all__ = ["Fault", "LoggedRequest", "StandIn", "running_standin"]
