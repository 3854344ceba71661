from enum import IntEnum
from typing import Any

from kafka.structs import OffsetAndMetadata, TopicPartition

class NewTopic:
    name: str
    def __init__(self, name: str, num_partitions: int = -1, replication_factor: int = -1,
                 replica_assignments: Any = None, topic_configs: dict[str, str] | None = None) -> None: ...

class KafkaAdminClient:
    def __init__(self, **configs: Any) -> None: ...
    def list_topics(self) -> list[str]: ...
    def create_topics(self, new_topics: list[NewTopic], timeout_ms: int | None = None, validate_only: bool = False,
                      raise_errors: bool = True) -> Any: ...
    def delete_topics(self, topics: list[str], timeout_ms: int | None = None, raise_errors: bool = True) -> Any: ...
    def describe_groups(self, group_ids: list[str], group_coordinator_id: int | None = None,
                        include_authorized_operations: bool = False) -> dict[str, dict[str, Any]]: ...
    def list_group_offsets(self, group_specs: Any) -> dict[str, dict[TopicPartition, OffsetAndMetadata]]: ...
    def delete_groups(self, group_ids: list[str], group_coordinator_id: int | None = None) -> Any: ...
    def close(self) -> None: ...
    def create_acls(self, acls: list[ACL]) -> dict[str, Any]: ...
    def delete_acls(self, acl_filters: list[ACLFilter]) -> Any: ...
    def alter_user_scram_credentials(self, alterations: list[Any]) -> dict[str, str | None]: ...

# ACLs (logwarden/commands/setup.py)

class ResourceType(IntEnum):
    TOPIC = 2
    GROUP = 3

class ACLOperation(IntEnum):
    ANY = 1
    READ = 3
    WRITE = 4
    DESCRIBE = 8

class ACLPermissionType(IntEnum):
    ANY = 1
    ALLOW = 3

class ResourcePattern:
    def __init__(self, resource_type: ResourceType, resource_name: str, pattern_type: Any = ...) -> None: ...

class ACL:
    def __init__(self, principal: str, host: str, operation: ACLOperation, permission_type: ACLPermissionType,
                 resource_pattern: ResourcePattern) -> None: ...

class ACLResourcePatternType(IntEnum):
    PREFIXED = 4

class ACLFilter:
    def __init__(self, principal: str | None, host: str | None, operation: ACLOperation,
                 permission_type: ACLPermissionType, resource_pattern: ResourcePattern) -> None: ...

# SCRAM users (tests/security/test_kafka_midrun_refusal_servers.py)

class ScramMechanism(IntEnum):
    SCRAM_SHA_256 = 1
    SCRAM_SHA_512 = 2

class UserScramCredentialUpsertion:
    def __init__(self, user: str, mechanism: ScramMechanism, password: str, iterations: int | None = None,
                 salt: bytes | None = None) -> None: ...

class UserScramCredentialDeletion:
    def __init__(self, user: str, mechanism: ScramMechanism) -> None: ...
