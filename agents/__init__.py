"""Agents for ``ModelCompression-v0``: the only package that imports Stable-Baselines3.

=========================  ==================================================================
module                     what it holds
=========================  ==================================================================
``agents.sb3_agents``      ``make_ddpg`` / ``make_td3`` / ``make_ppo`` / ``make_sac``: SB3 with
                           AMC's settings
``agents.noise``           ``AMCNoise``: truncated-normal exploration decaying per episode
``agents.reward_sharing``  ``SharedRewardReplayBuffer``: the end reward shared by every step,
                           minus a moving-average baseline
``agents.baselines``       ``UniformAgent`` (handcrafted with L1), ``RandomSearchAgent``
``agents.protocol``        the two-method protocol of custom agents, ``play_episode``
``agents.cem``             ``CEMAgent``: the cross-entropy method on the plain Gym API
``agents.registry``        every ``--agent`` name and the env options it implies
``agents.search``          ``run_search``: logged, checkpointed, resumable searches
``agents.rescore``         the top-k re-score on the whole search split that names the winner
``agmc_env.finetune``        fine-tuning of pruned models
``agents.cli``             the ``agmc`` command line
=========================  ==================================================================

The command line is :mod:`agmc_cli`; fine-tuning and export are library code in :mod:`agmc_env`;
benchmark helpers live beside the benchmarks (``benchmarks/harness``).

Nothing is imported here, so ``import agents.protocol`` stays free of torch and SB3.
"""
