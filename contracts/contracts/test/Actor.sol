// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Test-only: a contract account that forwards calls and can refuse ETH or
///         re-enter the contract that pays it. Not deployed outside the tests.
contract Actor {
    enum Mode {
        Accept,
        Reject,
        Reenter
    }

    Mode public mode;
    address public reenterTarget;
    bytes public reenterData;
    bool public reentered; // set when a re-entrant call succeeded (it never should)

    receive() external payable {
        if (mode == Mode.Reject) revert("Actor: no ETH");
        if (mode == Mode.Reenter) {
            (bool ok,) = reenterTarget.call(reenterData);
            if (!ok) revert("Actor: reentry refused");
            reentered = true;
        }
    }

    function setMode(Mode m) external {
        mode = m;
    }

    function setReenter(address target, bytes calldata data) external {
        (mode, reenterTarget, reenterData) = (Mode.Reenter, target, data);
    }

    function call(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }
}
