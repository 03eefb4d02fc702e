"""Offline synthesis checks for the AWS CDK app in infra/ (no AWS, no `cdk` CLI)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

if shutil.which("node") is None:  # importing aws_cdk starts its jsii node process
    pytest.skip("the CDK synthesis needs node on PATH", allow_module_level=True)
pytest.importorskip("aws_cdk")

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra"))
from genome_cache_stack import GenomeCacheStack

NFS = 2049


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """Synthesize once per module: each synth goes through the jsii node process."""
    stack = GenomeCacheStack(cdk.App(), "TestGenomeCache")
    return Template.from_stack(stack).to_json()


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def only(template: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    found = resources(template, type_)
    assert len(found) == 1, f"expected one {type_}, got {sorted(found)}"
    return next(iter(found.items()))


def job_definition(template: dict[str, Any], name: str) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in resources(template, "AWS::Batch::JobDefinition").values()
        if r["Properties"].get("JobDefinitionName") == name
    ]
    assert len(found) == 1, f"job definition {name!r} not found exactly once"
    return found[0]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_actions(template: dict[str, Any], job: dict[str, Any]) -> set[str]:
    """All Allow actions attached (inline or as AWS::IAM::Policy) to the job definition's job role."""
    role_id = job["ContainerProperties"]["JobRoleArn"]["Fn::GetAtt"][0]
    docs = [p["PolicyDocument"] for p in template["Resources"][role_id]["Properties"].get("Policies", [])]
    docs += [
        r["Properties"]["PolicyDocument"]
        for r in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    return {a for d in docs for s in d["Statement"] if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def test_efs_elastic_general_purpose_encrypted_retained(template: dict[str, Any]) -> None:
    _, fs = only(template, "AWS::EFS::FileSystem")
    props = fs["Properties"]
    assert props["ThroughputMode"] == "elastic"
    assert props["PerformanceMode"] == "generalPurpose"
    assert props["Encrypted"] is True
    assert {"TransitionToIA": "AFTER_30_DAYS"} in props["LifecyclePolicies"]
    assert fs["DeletionPolicy"] == "Retain"


def test_file_system_policy_requires_tls_and_allows_no_one(template: dict[str, Any]) -> None:
    _, fs = only(template, "AWS::EFS::FileSystem")
    statements = fs["Properties"]["FileSystemPolicy"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    # An Allow to "*" here would grant write to every IAM-authorized client, including the read-only role.
    assert not [s for s in statements if s["Effect"] == "Allow"]


def test_access_point_is_genomes_owned_by_1000(template: dict[str, Any]) -> None:
    _, ap = only(template, "AWS::EFS::AccessPoint")
    props = ap["Properties"]
    assert props["RootDirectory"]["Path"] == "/genomes"
    creation = props["RootDirectory"]["CreationInfo"]
    assert creation == {"OwnerUid": "1000", "OwnerGid": "1000", "Permissions": "0755"}
    assert props["PosixUser"] == {"Uid": "1000", "Gid": "1000"}


@pytest.mark.parametrize("name, readonly", [("genome-retrieval", True), ("genome-populate", False)])
def test_job_definition_mounts_access_point(template: dict[str, Any], name: str, readonly: bool) -> None:
    container = job_definition(template, name)["ContainerProperties"]
    (volume,) = container["Volumes"]
    efs_conf = volume["EfsVolumeConfiguration"]
    assert efs_conf["TransitEncryption"] == "ENABLED"
    assert efs_conf["AuthorizationConfig"]["Iam"] == "ENABLED"
    ap_id, _ = only(template, "AWS::EFS::AccessPoint")
    assert efs_conf["AuthorizationConfig"]["AccessPointId"] == {"Ref": ap_id}
    (mount,) = container["MountPoints"]
    assert mount["SourceVolume"] == volume["Name"]
    assert mount["ContainerPath"] == "/genomes"
    assert mount["ReadOnly"] is readonly


def test_populate_command(template: dict[str, Any]) -> None:
    command = job_definition(template, "genome-populate")["ContainerProperties"]["Command"]
    assert command == [
        "genome_cache.py",
        "--cache-dir",
        "/genomes/cache",
        "populate",
        "--manifest",
        "/opt/genomecache/conf/genomes.json",
    ]


def test_only_populate_role_can_write(template: dict[str, Any]) -> None:
    populate = role_actions(template, job_definition(template, "genome-populate"))
    retrieval = role_actions(template, job_definition(template, "genome-retrieval"))
    assert {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "s3:GetObject"} <= populate
    assert {"elasticfilesystem:ClientMount", "s3:GetObject"} <= retrieval
    assert not {a for a in retrieval if a in ("elasticfilesystem:ClientWrite", "elasticfilesystem:*", "*")}


def test_nfs_only_from_batch_security_group(template: dict[str, Any]) -> None:
    ingress = [r["Properties"] for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()]
    ingress += [
        rule
        for sg in resources(template, "AWS::EC2::SecurityGroup").values()
        for rule in sg["Properties"].get("SecurityGroupIngress", [])
    ]

    def covers_nfs(rule: dict[str, Any]) -> bool:
        return rule["IpProtocol"] == "-1" or rule.get("FromPort", 0) <= NFS <= rule.get("ToPort", 65535)

    nfs_rules = [r for r in ingress if covers_nfs(r)]
    assert not [r for r in nfs_rules if r.get("CidrIp") == "0.0.0.0/0" or r.get("CidrIpv6") == "::/0"]
    # The one NFS rule targets the mount targets' group and names the Batch hosts' group as source.
    (rule,) = nfs_rules
    _, ce = only(template, "AWS::Batch::ComputeEnvironment")
    assert rule["SourceSecurityGroupId"] in ce["Properties"]["ComputeResources"]["SecurityGroupIds"]
    mount_sgs = {
        sg["Fn::GetAtt"][0]
        for mt in resources(template, "AWS::EFS::MountTarget").values()
        for sg in mt["Properties"]["SecurityGroups"]
    }
    assert rule["GroupId"]["Fn::GetAtt"][0] in mount_sgs


def test_compute_environment_in_private_subnets(template: dict[str, Any]) -> None:
    _, ce = only(template, "AWS::Batch::ComputeEnvironment")
    subnets = ce["Properties"]["ComputeResources"]["Subnets"]
    assert subnets and all("Private" in s["Ref"] for s in subnets)
    assert ce["Properties"]["ComputeResources"]["Type"] == "EC2"


def test_outputs(template: dict[str, Any]) -> None:
    assert {
        "FileSystemId",
        "AccessPointId",
        "JobQueueName",
        "RetrievalJobDefinitionName",
        "PopulateJobDefinitionName",
        "WorkBucketName",
    } <= set(template["Outputs"])


def test_queue_named_as_the_aws_profile_expects(template: dict[str, Any]) -> None:
    _, queue = only(template, "AWS::Batch::JobQueue")
    assert queue["Properties"]["JobQueueName"] == "genome-cache"


def test_work_bucket_private_encrypted(template: dict[str, Any]) -> None:
    _, bucket = only(template, "AWS::S3::Bucket")
    block = bucket["Properties"]["PublicAccessBlockConfiguration"]
    assert all(
        block[k]
        for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]


def test_existing_vpc_is_used_not_created() -> None:
    app = cdk.App()
    net = cdk.Stack(app, "Net")
    vpc = ec2.Vpc(net, "Shared", max_azs=2)
    stack = GenomeCacheStack(app, "WithVpc", vpc=vpc)
    Template.from_stack(stack).resource_count_is("AWS::EC2::VPC", 0)
