"""The desk: the owner's day — brief, triage, meetings, projects."""

from understudy.desk.overview import Overview, build_overview

__all__ = ["Overview", "build_overview"]
