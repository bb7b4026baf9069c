/** One agent per goal (`getAgentByName(env.GOAL_AGENT, goalId)`): lifecycle, RPC and persistence only. */
import { Agent } from "agents";
import type { Env } from "../context";

export class GoalAgent extends Agent<Env> {}
