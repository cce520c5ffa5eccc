// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title Staking: bond ETH, unbond it, withdraw it after the unbonding period
/// @notice Anyone may bond ETH to their own address, unbond part of it (which starts an
///         unbonding lock of `unbondingBlocks` blocks) and withdraw a lock once it has
///         matured; `rebond` returns an unbonding lock to the bonded stake. Stake is
///         readable by anyone. Guarantees:
///
///  - **Value.** This contract's balance is always totalBonded + totalUnbonding: ETH
///    enters only by `bond`, leaves only by `withdraw`, to the staker who bonded it.
///  - **Only the owner moves its stake.** Nothing else — no owner key, no admin — can
///    move, freeze or reduce anyone's stake.
///  - **The period holds.** A lock is withdrawable from its `withdrawBlock` on, never
///    before; unbonding more does not shorten earlier locks.
///
/// **Slashing: not implemented.** No function reduces stake for a fault, and nothing here
/// pretends to. The hook for it is the unbonding period: stake that is leaving stays in
/// this contract, counted per staker and per lock, for `unbondingBlocks`, which is the
/// window in which a future slasher (the validators' quorum, DESIGN.md §7) will be able to
/// reduce `bonded` and not-yet-withdrawn locks. That needs a slasher address and evidence
/// rules that do not exist yet; until then stake is only a bond, not a guarantee.
///
/// The embedded ledger's `stake`/`unstake` move balance ↔ stake at once; this contract
/// adds the unbonding period the slashing design needs.
contract Staking is ReentrancyGuardTransient {
    struct Lock {
        uint128 amount;
        uint64 withdrawBlock; // withdrawable from this block on
    }

    /// Blocks from unbond to withdraw.
    uint256 public immutable unbondingBlocks;

    mapping(address => uint256) public bonded;
    mapping(address => uint256) public unbonding; // Σ of the staker's open locks
    mapping(address => Lock[]) internal s_locks; //  withdrawn locks are zeroed, ids stay stable
    uint256 public totalBonded;
    uint256 public totalUnbonding;

    event Bonded(address indexed staker, uint256 amount, uint256 bonded);
    event Unbonded(address indexed staker, uint256 indexed lockId, uint256 amount, uint256 withdrawBlock);
    event Rebonded(address indexed staker, uint256 indexed lockId, uint256 amount);
    event Withdrawn(address indexed staker, uint256 indexed lockId, uint256 amount);

    error InvalidParameter();
    error ZeroAmount();
    error InsufficientBond(uint256 bonded, uint256 requested);
    error NoSuchLock();
    error NotYetWithdrawable(uint256 withdrawBlock);
    error TransferFailed();

    /// @param unbondingBlocks_ blocks from unbond to withdraw (>= 1)
    constructor(uint256 unbondingBlocks_) {
        if (unbondingBlocks_ == 0 || unbondingBlocks_ > type(uint32).max) revert InvalidParameter();
        unbondingBlocks = unbondingBlocks_;
    }

    /// @notice Adds msg.value to the caller's bonded stake.
    function bond() external payable {
        if (msg.value == 0) revert ZeroAmount();
        uint256 b = bonded[msg.sender] + msg.value;
        bonded[msg.sender] = b;
        totalBonded += msg.value;
        emit Bonded(msg.sender, msg.value, b);
    }

    /// @notice Moves `amount` of the caller's bonded stake into a new unbonding lock.
    /// @return lockId the lock's index in locksOf(caller)
    function unbond(uint256 amount) external returns (uint256 lockId) {
        if (amount == 0) revert ZeroAmount();
        uint256 b = bonded[msg.sender];
        if (amount > b) revert InsufficientBond(b, amount);
        unchecked {
            bonded[msg.sender] = b - amount;
            totalBonded -= amount;
        }
        unbonding[msg.sender] += amount;
        totalUnbonding += amount;
        uint256 at = block.number + unbondingBlocks;
        lockId = s_locks[msg.sender].length;
        s_locks[msg.sender].push(Lock(uint128(amount), uint64(at))); // amount <= ETH supply < 2^128
        emit Unbonded(msg.sender, lockId, amount, at);
    }

    /// @notice Returns an open unbonding lock to the caller's bonded stake.
    function rebond(uint256 lockId) external {
        Lock memory l = _openLock(msg.sender, lockId);
        delete s_locks[msg.sender][lockId];
        unbonding[msg.sender] -= l.amount;
        totalUnbonding -= l.amount;
        bonded[msg.sender] += l.amount;
        totalBonded += l.amount;
        emit Rebonded(msg.sender, lockId, l.amount);
    }

    /// @notice Pays out a matured unbonding lock to the caller.
    function withdraw(uint256 lockId) external nonReentrant {
        Lock memory l = _openLock(msg.sender, lockId);
        if (block.number < l.withdrawBlock) revert NotYetWithdrawable(l.withdrawBlock);
        delete s_locks[msg.sender][lockId];
        unbonding[msg.sender] -= l.amount;
        totalUnbonding -= l.amount;
        emit Withdrawn(msg.sender, lockId, l.amount);
        (bool ok,) = msg.sender.call{value: l.amount}("");
        if (!ok) revert TransferFailed();
    }

    function _openLock(address staker, uint256 lockId) internal view returns (Lock memory l) {
        if (lockId >= s_locks[staker].length) revert NoSuchLock();
        l = s_locks[staker][lockId];
        if (l.amount == 0) revert NoSuchLock(); // withdrawn or rebonded
    }

    /// @notice A staker's bonded stake plus what it is unbonding (all of it slashable once slashing exists).
    function stakeOf(address staker) external view returns (uint256) {
        return bonded[staker] + unbonding[staker];
    }

    /// @notice One lock (amount 0: withdrawn or rebonded).
    function getLock(address staker, uint256 lockId) external view returns (uint256 amount, uint256 withdrawBlock) {
        if (lockId >= s_locks[staker].length) revert NoSuchLock();
        Lock memory l = s_locks[staker][lockId];
        return (l.amount, l.withdrawBlock);
    }

    /// @notice How many locks `staker` has made (ids 0 .. n−1).
    function lockCount(address staker) external view returns (uint256) {
        return s_locks[staker].length;
    }
}
