"""Every table of the project; importing this package registers them all on ``Base.metadata``."""

from db.models.alerts import Alert, AlertChart, AlertStatus
from db.models.conversations import Conversation, ConversationStatus, Message, MessageRole
from db.models.feedback import Feedback, Rating
from db.models.images import JobImage
from db.models.jobs import JOB_NOT_FINAL, Job
from db.models.knowledge import KnowledgeEntry, KnowledgeQuestion
from db.models.recommendations import RecommendationClick, RecommendationImpression
from db.models.reports import Report
from db.models.sentiment import SentimentObservation
from db.models.slack import DeliveryStatus, SlackDelivery

__all__ = [
    "JOB_NOT_FINAL",
    "Alert",
    "AlertChart",
    "AlertStatus",
    "Conversation",
    "ConversationStatus",
    "DeliveryStatus",
    "Feedback",
    "Job",
    "JobImage",
    "KnowledgeEntry",
    "KnowledgeQuestion",
    "Message",
    "MessageRole",
    "Rating",
    "RecommendationClick",
    "RecommendationImpression",
    "Report",
    "SentimentObservation",
    "SlackDelivery",
]
