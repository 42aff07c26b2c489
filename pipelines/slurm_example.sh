#!/usr/bin/env bash
# One node, several GPUs, under Slurm: the same `matgan pipeline run` a workstation uses.
# Training stages are launched by torchrun (DistributedDataParallel, one process per GPU, rank 0 writes);
# a job killed by the scheduler (time limit, pre-emption) and submitted again skips the finished stages
# and resumes the unfinished training from its last checkpoint.
#
#   sbatch pipelines/slurm_example.sh pipelines/grains.toml
#
#SBATCH --job-name=matgan
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --gres=gpu:4
#SBATCH --cpus-per-task=16
#SBATCH --time=12:00:00
#SBATCH --signal=TERM@120
#SBATCH --requeue
#SBATCH --output=slurm-%x-%j.out

set -euo pipefail
config=${1:-pipelines/grains.toml}
gpus=${SLURM_GPUS_ON_NODE:-$(nvidia-smi -L | wc -l)}
export OMP_NUM_THREADS=$(( ${SLURM_CPUS_PER_TASK:-16} / gpus ))

# SIGTERM (sent 120 s before the time limit) reaches the trainer, which saves last.pt and exits;
# --requeue puts the job back in the queue and this same line then resumes it.
srun --kill-on-bad-exit=1 matgan pipeline run "$config" --gpus "$gpus"
