"""Entity-tag: which model (``model``), how short mentions resolve to full names (``aliases``), and the
Beam stage that tags articles in batches (``tag``)."""

from transforms.entities.aliases import mention_name, resolve_aliases
from transforms.entities.model import EntitySettings, load_model
from transforms.entities.tag import TagEntities, entities_of, tag_batch

__all__ = ["EntitySettings", "TagEntities", "entities_of", "load_model", "mention_name", "resolve_aliases", "tag_batch"]
