// The chat agent: see Agent.swift (work in progress).
