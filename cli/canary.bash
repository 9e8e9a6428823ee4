# canary.bash - bash completion for canary: commands, subcommands, options, and probe names.
#
# Installed as share/bash-completion/completions/canary. Needs nothing from the
# bash-completion package. Probe names are the *.json file names in the
# probes_dir of the config given by -c, else $CANARY_CONFIG, else
# /etc/canary/canary.json (a probe whose file sets another "name" is offered
# under its file name). Nothing is executed and no daemon is asked.

# True when option $1 takes a value: that value is never a command or a probe name.
_canary_takes_value()
{
	case $1 in
	-c|--config|--log-level|--url|--method|--header|--json-body|--expect|--every|--timeout|--tag|\
	--channel|--description|--from|--since|--probe|--limit|--for|--reason|--start|--at) return 0 ;;
	esac
	return 1
}

# Adds what `compgen ARGS...` offers to COMPREPLY, one per line: a file name
# may hold spaces or glob characters, which $(...) in an array would split or expand.
_canary_add()
{
	local w
	while IFS= read -r w; do
		COMPREPLY+=("$w")
	done < <(compgen "$@")
}

# Prints the probe names of config $1, one per line.
_canary_probe_names()
{
	local cfg=$1 text='' dir=probes.d f n
	local re='"probes_dir"[[:space:]]*:[[:space:]]*"([^"]*)"'

	cfg=${cfg/#\~/$HOME}
	[[ -f $cfg && -r $cfg ]] || return 0
	# The main file is small: its first 64 KiB hold probes_dir if anything does.
	IFS= read -r -d '' -n 65536 text <"$cfg"
	[[ $text =~ $re ]] && dir=${BASH_REMATCH[1]}
	if [[ $dir != /* ]]; then
		if [[ $cfg == */* ]]; then dir=${cfg%/*}/$dir; else dir=./$dir; fi
	fi
	for f in "$dir"/*.json; do
		[[ -f $f ]] || continue
		n=${f##*/}
		printf '%s\n' "${n%.json}"
	done
}

_canary()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cfg=${CANARY_CONFIG:-/etc/canary/canary.json} given=0 w i opts='' words=''
	local -a args=()

	COMPREPLY=()
	[[ $prev == = ]] && ((COMP_CWORD > 1)) && prev=${COMP_WORDS[COMP_CWORD-2]}
	# The positional words before the cursor (command, subcommand, names), and -c.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if _canary_takes_value "$w"; then
			# bash splits "--config=FILE" into "--config", "=", "FILE".
			[[ ${COMP_WORDS[i+1]} == = ]] && ((i++))
			if [[ $w == -c || $w == --config ]] && ((i + 1 < COMP_CWORD)); then
				cfg=${COMP_WORDS[i+1]}
				given=1
			fi
			((i++))
		elif [[ $w == --config=* ]]; then
			cfg=${w#--config=}
			given=1
		elif [[ $w != -* ]]; then
			args+=("$w")
		fi
	done
	local cmd=${args[0]} sub=${args[1]} npos=${#args[@]}

	case $prev in
	-c|--config)
		compopt -o filenames 2>/dev/null
		_canary_add -f -- "$cur"
		return 0 ;;
	--from)
		compopt -o filenames 2>/dev/null
		_canary_add -f -- "$cur"
		[[ -z $cur || $cur == - ]] && COMPREPLY+=(-)
		return 0 ;;
	--log-level)
		COMPREPLY=($(compgen -W 'debug info notice warning error' -- "$cur"))
		return 0 ;;
	--method)
		COMPREPLY=($(compgen -W 'GET HEAD POST PUT PATCH DELETE OPTIONS' -- "$cur"))
		return 0 ;;
	--probe)
		COMPREPLY=($(compgen -W "$(_canary_probe_names "$cfg")" -- "$cur"))
		return 0 ;;
	--since)
		COMPREPLY=($(compgen -W '1h 24h 7d 30d' -- "$cur"))
		return 0 ;;
	--for)
		COMPREPLY=($(compgen -W '30m 1h 2h 1d' -- "$cur"))
		return 0 ;;
	--every|--timeout)
		COMPREPLY=($(compgen -W '10s 30s 1m 5m' -- "$cur"))
		return 0 ;;
	*)
		_canary_takes_value "$prev" && return 0 ;;
	esac

	if ((npos == 0)); then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'check config run status probe run-now report annotate incidents incident maintenance alert' -- "$cur"))
		fi
		return 0
	fi

	# Commands with subcommands: the subcommand first.
	case $cmd in
	config|probe|incident|maintenance|alert)
		if ((npos == 1)); then
			case $cmd in
			config) words='check' ;;
			probe) words='add list show rm pause resume' ;;
			incident) words='show' ;;
			maintenance) words='add list end' ;;
			alert) words='test' ;;
			esac
			[[ $cur == -* ]] && words='--help'
			COMPREPLY=($(compgen -W "$words" -- "$cur"))
			return 0
		fi ;;
	esac

	# Options per command, and whether a probe name is wanted at this position.
	local name_at=-1
	case $cmd${sub:+ $sub} in
	check*)             opts='-c --config --reveal --json'; name_at=1 ;;
	'config check')     opts='-c --config' ;;
	run)                opts='-c --config --log-level -v --verbose' ;;
	status)             opts='-c --config --json' ;;
	'probe add')        opts='-c --config --url --method --header --json-body --expect --every --timeout --tag --channel --description --from --replace' ;;
	'probe list')       opts='-c --config --json' ;;
	'probe show')       opts='-c --config --json'; name_at=2 ;;
	'probe rm'|'probe pause'|'probe resume') opts='-c --config'; name_at=2 ;;
	run-now*)           opts='-c --config --json'; name_at=1 ;;
	report*)            opts='-c --config --since --probe --tag --json' ;;
	annotate*)          opts='-c --config --probe --tag --at' ;;
	incidents*)         opts='-c --config --open --probe --since --limit --json' ;;
	'incident show')    opts='-c --config --markdown --json' ;;
	'maintenance add')  opts='-c --config --probe --tag --for --reason --start' ;;
	'maintenance list') opts='-c --config --all --json' ;;
	'maintenance end')  opts='-c --config' ;;
	'alert test')       opts='-c --config' ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
	elif ((name_at == npos)); then
		COMPREPLY=($(compgen -W "$(_canary_probe_names "$cfg")" -- "$cur"))
		# Without -c, `canary check PROBE.json` takes a file too.
		if [[ $cmd == check ]] && ((!given)); then
			compopt -o filenames 2>/dev/null
			_canary_add -f -X '!*.json' -- "$cur"
			_canary_add -d -- "$cur"
		fi
	fi
	return 0
}

complete -F _canary canary
