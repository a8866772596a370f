"""Programmes and referrals over HTTP: parse, call one use case (referrals.use_cases), respond.

One module per resource: programmes, referrals (list, create, read, amend), lifecycle (states,
moves, history), reports, the change feed, and the partner-contact task.
"""

from referrals.views.feed import EventFeedView
from referrals.views.lifecycle import HistoryView, StatesView, TransitionView
from referrals.views.partner_contact import PartnerContactView
from referrals.views.programmes import ProgrammeDetailView, ProgrammeListView
from referrals.views.referrals import ReferralDetailView, ReferralListView
from referrals.views.reports import ReportsView

__all__ = [
    "EventFeedView",
    "HistoryView",
    "PartnerContactView",
    "ProgrammeDetailView",
    "ProgrammeListView",
    "ReferralDetailView",
    "ReferralListView",
    "ReportsView",
    "StatesView",
    "TransitionView",
]
