from measures.models.scope import Membership, Scope

__all__ = ["Membership", "Scope"]
