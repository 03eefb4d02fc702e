"""Shared, verified reference-genome cache for PAVI on AWS: EFS volume + AWS Batch.

Layout on the file system (access point root ``/genomes``, mounted at ``/genomes``):
``/genomes/cache`` is the download-once cache (``--cacheDir``), ``/genomes/mirror`` an
optional read-only tree (``--genomeMirror``).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, CfnParameter, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

DEFAULT_IMAGE = "agr_pavi/genome-cache:latest"
MOUNT_PATH = "/genomes"
# --cache-dir is an option of genome_cache.py itself, so it goes before the subcommand.
POPULATE_COMMAND = [
    "genome_cache.py",
    "--cache-dir",
    f"{MOUNT_PATH}/cache",
    "populate",
    "--manifest",
    "/opt/genomecache/conf/genomes.json",
]
SOURCE_BUCKET_ARN = "arn:aws:s3:::agrjbrowse"
SOURCE_PREFIX = "fasta/"


class GenomeCacheStack(Stack):
    """EFS genome cache, Batch compute environment + queue, retrieval and populate job definitions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc | None = None,
        max_vcpus: int = 64,
        **kwargs,
    ) -> None:
        """Create the stack; pass ``vpc`` to reuse an existing VPC (it needs private subnets with egress)."""
        super().__init__(scope, construct_id, **kwargs)

        image = CfnParameter(
            self,
            "ContainerImage",
            type="String",
            default=DEFAULT_IMAGE,
            description="Image with genome_cache.py, samtools and clustalo (see Dockerfile)",
        )

        if vpc is None:
            # One NAT gateway: Batch hosts only need egress for image pulls and non-S3 genome sources.
            # The S3 gateway endpoint is free and keeps S3 downloads off the NAT's per-GB charge.
            vpc = ec2.Vpc(
                self,
                "Vpc",
                max_azs=2,
                nat_gateways=1,
                gateway_endpoints={
                    "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                },
            )
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        batch_sg = ec2.SecurityGroup(self, "BatchSg", vpc=vpc, description="PAVI Batch compute hosts")
        efs_sg = ec2.SecurityGroup(
            self,
            "EfsSg",
            vpc=vpc,
            allow_all_outbound=False,
            description="Genome cache EFS: NFS from Batch hosts only",
        )
        efs_sg.add_ingress_rule(batch_sg, ec2.Port.tcp(2049), "NFS from Batch compute")

        # Once a file system policy exists, EFS stops granting everyone full access: clients without IAM
        # authorization are anonymous and get nothing, IAM-authorized ones need an identity-policy Allow
        # (ClientMount; ClientWrite to write). This one only adds "no TLS, no access".
        tls_only = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="DenyNonTlsAccess",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["*"],
                    conditions={"Bool": {"aws:SecureTransport": "false"}},
                )
            ]
        )
        self.file_system = efs.FileSystem(
            self,
            "GenomeFs",
            vpc=vpc,
            vpc_subnets=private,
            security_group=efs_sg,
            performance_mode=efs.PerformanceMode.GENERAL_PURPOSE,
            # Elastic, not bursting: bursting baseline scales with stored size (50 KiB/s per GiB), so a
            # ~20 GiB cache earns only ~1 MiB/s once burst credits are spent and a genome populate or a
            # burst of parallel retrievals would crawl. Elastic scales with demand, billed per GB moved.
            throughput_mode=efs.ThroughputMode.ELASTIC,
            lifecycle_policy=efs.LifecyclePolicy.AFTER_30_DAYS,  # superseded assemblies age into IA
            encrypted=True,
            removal_policy=RemovalPolicy.RETAIN,  # the cache outlives stack teardown
            file_system_policy=tls_only,
            # Counter-intuitive but deliberate: False (or the denyAnonymousAccess feature flag) makes CDK add
            # "Allow ClientWrite+ClientRootAccess to *", which would let the read-only retrieval role write.
            # True adds nothing; anonymous (non-IAM) clients are still refused, as tls_only allows nothing.
            allow_anonymous_access=True,
        )
        self.access_point = self.file_system.add_access_point(
            "GenomesAp",
            path=MOUNT_PATH,
            posix_user=efs.PosixUser(uid="1000", gid="1000"),  # the image's non-root user
            create_acl=efs.Acl(owner_uid="1000", owner_gid="1000", permissions="0755"),
        )

        retrieval_role = self._job_role("RetrievalRole", write=False)
        populate_role = self._job_role("PopulateRole", write=True)

        # Managed EC2 rather than Fargate: Nextflow's Batch executor binds host paths
        # (aws.batch.volumes = '/genomes') into the job definitions it registers per process and cannot
        # declare EFS volumes; on Fargate it needs Wave + Fusion instead. So the hosts mount the access
        # point at /genomes themselves (launch template below) and pipeline tasks see the cache there.
        instance_role = iam.Role(
            self,
            "InstanceRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonEC2ContainerServiceforEC2Role"
                )
            ],
        )
        # Pipeline tasks fill the cache on a miss, so the host mount is writable.
        self._grant_efs(instance_role, write=True)
        self._grant_source_read(instance_role)

        self.compute_environment = batch.ManagedEc2EcsComputeEnvironment(
            self,
            "ComputeEnv",
            vpc=vpc,
            vpc_subnets=private,
            security_groups=[batch_sg],
            instance_role=instance_role,
            launch_template=self._host_mount_template(),
            images=[batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023)],
            # Current-generation x86 (m6i/c6i/r6i/c7i) instead of "optimal" (C4/M4/R4).
            default_instance_classes=[batch.DefaultInstanceClass.X86_64],
            minv_cpus=0,
            maxv_cpus=max_vcpus,
        )
        # Named so -profile aws finds it by default (params.awsQueue = 'genome-cache').
        self.job_queue = batch.JobQueue(self, "JobQueue", job_queue_name="genome-cache", priority=1)
        # Nextflow's awsbatch work directory: task scripts, logs and staged outputs, read and written by
        # the hosts (Nextflow's own job definitions carry no job role, so tasks use the instance role).
        self.work_bucket = s3.Bucket(
            self,
            "WorkBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(30))],
        )
        self.work_bucket.grant_read_write(instance_role)
        self.job_queue.add_compute_environment(self.compute_environment, 1)

        container_image = ecs.ContainerImage.from_registry(image.value_as_string)
        self.retrieval_job = batch.EcsJobDefinition(
            self,
            "RetrievalJob",
            job_definition_name="genome-retrieval",
            container=batch.EcsEc2ContainerDefinition(
                self,
                "RetrievalContainer",
                image=container_image,
                cpu=1,
                memory=Size.mebibytes(2048),
                job_role=retrieval_role,
                volumes=[self._volume(readonly=True)],
            ),
        )
        self.populate_job = batch.EcsJobDefinition(
            self,
            "PopulateJob",
            job_definition_name="genome-populate",
            retry_attempts=2,
            timeout=Duration.hours(4),
            container=batch.EcsEc2ContainerDefinition(
                self,
                "PopulateContainer",
                image=container_image,
                cpu=2,
                memory=Size.mebibytes(4096),
                job_role=populate_role,
                volumes=[self._volume(readonly=False)],
                command=POPULATE_COMMAND,
            ),
        )

        CfnOutput(self, "FileSystemId", value=self.file_system.file_system_id)
        CfnOutput(self, "AccessPointId", value=self.access_point.access_point_id)
        CfnOutput(self, "JobQueueName", value=self.job_queue.job_queue_name)
        CfnOutput(self, "WorkBucketName", value=self.work_bucket.bucket_name)
        CfnOutput(self, "RetrievalJobDefinitionName", value=self.retrieval_job.job_definition_name)
        CfnOutput(self, "PopulateJobDefinitionName", value=self.populate_job.job_definition_name)

    def _volume(self, *, readonly: bool) -> batch.EfsVolume:
        """The access point as a Batch EFS volume at /genomes, TLS + IAM-authorized with the job role."""
        return batch.EcsVolume.efs(
            name="genomes",
            container_path=MOUNT_PATH,
            readonly=readonly,
            file_system=self.file_system,
            access_point_id=self.access_point.access_point_id,
            enable_transit_encryption=True,
            use_job_role=True,
        )

    def _job_role(self, construct_id: str, *, write: bool) -> iam.Role:
        role = iam.Role(self, construct_id, assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
        self._grant_efs(role, write=write)
        self._grant_source_read(role)
        return role

    def _grant_efs(self, role: iam.IRole, *, write: bool) -> None:
        """ClientMount (+ ClientWrite) on the file system, only through the /genomes access point."""
        actions = ["elasticfilesystem:ClientMount"] + (["elasticfilesystem:ClientWrite"] if write else [])
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=actions,
                resources=[self.file_system.file_system_arn],
                conditions={
                    "StringEquals": {"elasticfilesystem:AccessPointArn": self.access_point.access_point_arn},
                },
            )
        )

    @staticmethod
    def _grant_source_read(role: iam.IRole) -> None:
        """Read the Alliance FASTA sources in s3://agrjbrowse/fasta/."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[f"{SOURCE_BUCKET_ARN}/{SOURCE_PREFIX}*"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[SOURCE_BUCKET_ARN],
                conditions={"StringLike": {"s3:prefix": [f"{SOURCE_PREFIX}*"]}},
            )
        )

    def _host_mount_template(self) -> ec2.LaunchTemplate:
        """Launch template whose user data mounts the access point at /genomes (TLS, IAM) on each host."""
        script = ec2.UserData.for_linux()
        fstab = (
            f"{self.file_system.file_system_id}:/ {MOUNT_PATH} efs "
            f"_netdev,noresvport,tls,iam,accesspoint={self.access_point.access_point_id} 0 0"
        )
        script.add_commands(
            "dnf install -y amazon-efs-utils",
            f"mkdir -p {MOUNT_PATH}",
            f"echo '{fstab}' >> /etc/fstab",
            # A host without the mount must not take jobs: tasks would fill a local /genomes instead.
            # User data finishes before the ECS agent starts, so halting here keeps the host out of Batch.
            f"mount {MOUNT_PATH} || shutdown -h now",
        )
        # Batch only accepts MIME multi-part user data in launch templates.
        user_data = ec2.MultipartUserData()
        user_data.add_user_data_part(script, ec2.MultipartBody.SHELL_SCRIPT, True)
        return ec2.LaunchTemplate(self, "HostTemplate", user_data=user_data)
